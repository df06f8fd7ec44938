#!/bin/sh
# promtool: the alert rules parse, and their unit tests pass.
set -eu
cd "$1/deploy/prometheus"
promtool check rules alerts.yml
promtool test rules alerts_test.yml
