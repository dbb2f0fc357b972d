#!/usr/bin/env bash
# `make watch BIN=check-domains` and `make invoke BIN=check-domains`, as the
# README's "Writing your own task" gives them, run and checked on loopback:
# cargo lambda watch serves the example task against the sandbox; both
# sample events answer with the document's checks; a document without
# domains fails with the task's own errorType; and no sandbox secret is in
# anything printed, though every upstream request is logged
# (EXH_TASK_DEBUG=1). Every wait is bounded; the watch and its sandbox are
# stopped on exit. `make watch-check` runs it (part of `make deploy-check`).
set -euo pipefail

make=${MAKE:-make}
dir=${WATCH_CHECK_DIR:-target/watch-check}
# cargo lambda watch compiles the task when it starts: the first answer
# waits for that.
first_answer_seconds=${WATCH_CHECK_FIRST_ANSWER_SECONDS:-900}

fail() {
  echo "watch-check: $*" >&2
  tail -n 40 "$dir/watch.log" >&2 || true
  exit 1
}

rm -rf "$dir" && mkdir -p "$dir"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# Its own session, so that stopping it reaches make, the sandbox and cargo lambda.
EXH_TASK_DEBUG=1 setsid "$make" --no-print-directory watch BIN=check-domains PORT=0 \
  WATCH_PORT="$port" WATCH_ENV="$dir/sandbox.env" >"$dir/watch.log" 2>&1 &
watch=$!
stop() {
  kill -TERM -- "-$watch" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 -- "-$watch" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$watch" 2>/dev/null || true
}
trap stop EXIT

for _ in $(seq 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$watch" 2>/dev/null || fail "make watch stopped before listening on 127.0.0.1:$port"
  sleep 0.5
done
test -s "$dir/sandbox.env" || fail "cargo lambda watch did not listen on 127.0.0.1:$port"
secrets=$(sed -n 's/^export \(API_OAUTH_[A-Z_]*\|HEXONET_PASSWORD\)=//p' "$dir/sandbox.env")
test "$(grep -c . <<<"$secrets")" -eq 5 || fail "the four OAuth1 values and the password are not in $dir/sandbox.env"

# make invoke EVENT=$1, bounded by $2 seconds; its output in $dir/NAME.out.
invoke() {
  local out
  out="$dir/$(basename "$1" .json).out"
  timeout "$2" "$make" -s --no-print-directory invoke BIN=check-domains WATCH_PORT="$port" \
    EVENT="$1" >"$out" 2>&1
}

checks='.documentId == "5f5e1a10000000000000d001"
  and [.domainChecks[] | [.domain, .available]]
      == [["free-name.com", true], ["blue-river-0.com", false], ["grün-garten.de", true]]'
timeout=$first_answer_seconds
for event in examples/check-domains/events/task.json examples/check-domains/events/direct.json; do
  invoke "$event" "$timeout" || fail "make invoke EVENT=$event failed: $(cat "$dir/$(basename "$event" .json).out")"
  answer=$(cat "$dir/$(basename "$event" .json).out")
  jq -e "$checks" <<<"$answer" >/dev/null || fail "$event answered $answer"
  echo "$event: $answer"
  timeout=60
done

echo '{"documentId": "5f5e10005ae1b0c0e3000000", "schemaId": "blood-pressure"}' >"$dir/no-domains.json"
if invoke "$dir/no-domains.json" 60; then
  fail "a document without domains was answered: $(cat "$dir/no-domains.out")"
fi
grep -q "NoDomains" "$dir/no-domains.out" || fail "no NoDomains in $(cat "$dir/no-domains.out")"
echo "a document without domains: NoDomains"

stop
# What the function logged is there (its HEXONET password masked), and no secret is.
grep -qF 's_pw=***' "$dir/watch.log" || fail "the function's debug log is not in $dir/watch.log"
while read -r secret; do
  if grep -qF -- "$secret" "$dir"/*.log "$dir"/*.out; then
    fail "a sandbox secret is in $(grep -lF -- "$secret" "$dir"/*.log "$dir"/*.out | tr '\n' ' ')"
  fi
done <<<"$secrets"
echo "watch-check: make watch / make invoke of check-domains work; no secret in their output"
