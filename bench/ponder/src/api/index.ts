// Ponder requires an API entry point; the bench only reads Postgres.
import { Hono } from "hono";

const app = new Hono();
app.get("/bench", (c) => c.text("ok"));
export default app;
