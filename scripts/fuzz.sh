#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (default 30 s each; a longer local run:
# `scripts/fuzz.sh 600`). Corpora are seeded from tests/vectors/; a target with a dictionary
# (fuzz/TARGET.dict) gets it. A crash leaves its input in
# fuzz/artifacts/TARGET/; turn it into a vector or a regression test before fixing it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
export PATH="$root/.tools/bin:$PATH"
cd "$root/fuzz"

# Seeds: the vectors' policies, origins and request-header lists.
python3 - <<'PY'
import hashlib, json, pathlib
vectors = pathlib.Path("../tests/vectors")
seeds = {"policy": set(), "origin": set(), "request_headers": set(), "evaluate": set(), "route": set(),
         "label_pattern": set()}
for path in sorted((vectors / "decisions").glob("*.json")):
    data = json.loads(path.read_text())
    seeds["policy"].add(json.dumps(data["policy"]))
    for case in data["cases"]:
        headers = case["request"].get("headers", {})
        headers = dict(headers) if isinstance(headers, list) else headers
        seeds["route"].add(case["request"].get("path", "/") + "\n" + case["request"].get("host", "api.test"))
        if "Origin" in headers:
            seeds["origin"].add(headers["Origin"])
            for entry in data["policy"].get("origins", []):
                if "://" in entry and "*" in entry.split("://")[1].split(".")[0] and "://" in headers["Origin"]:
                    seeds["label_pattern"].add(entry.split("://")[1] + "\n" + headers["Origin"].split("://")[1])
        if "Access-Control-Request-Headers" in headers:
            seeds["request_headers"].add(headers["Access-Control-Request-Headers"])
for case in json.loads((vectors / "validation.json").read_text()):
    seeds["policy"].add(case["text"] if "text" in case else json.dumps(case["policy"]))
    policy = case.get("policy")
    for entry in (policy.get("origins") or []) if isinstance(policy, dict) else []:
        if isinstance(entry, str):
            seeds["origin"].add(entry)
for target, values in seeds.items():
    folder = pathlib.Path("corpus") / target
    folder.mkdir(parents=True, exist_ok=True)
    for value in values:
        data = value.encode()
        (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
PY

# cargo fuzz has no --locked: this refuses a fuzz/Cargo.lock that the build would rewrite.
cargo +nightly metadata --locked --format-version 1 >/dev/null
cargo +nightly fuzz build --release
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for target in policy origin request_headers evaluate route label_pattern; do
  echo "== fuzz $target for ${seconds}s"
  status=0
  dict=()
  [ -f "$target.dict" ] && dict=(-dict="$target.dict")
  cargo +nightly fuzz run --release "$target" "corpus/$target" -- "${dict[@]}" \
    -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done|SUMMARY|thread|invariant|request|decision)" "$log" || true
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $target crashed; its input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
echo "fuzz: every target ran ${seconds}s with no crash"
