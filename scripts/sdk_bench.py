#!/usr/bin/env python3
"""Time the usual integration script: Kingdee's official Python SDK saving one bill per
Save call in a loop.

This is the baseline that `bench` (tests/src/bin/bench.rs) compares dingk3 with. The
bench starts a K3Cloud simulator with the latency of the scenario, writes the bill model
that dingk3 would send for one approval to a JSON file, and runs this script against it.
The script gives every copy its own bill number, saves `--count` bills one after the
other with `K3CloudApiSdk.Save` (signature authentication, as the SDK's InitConfig sets
it up) and prints one JSON line:

    {"bills": 20, "failures": 0, "seconds": 4.31, "bills_per_s": 4.64, "p50_ms": 205.1,
     "p99_ms": 209.8, "peak_rss_kib": 31000, "cpu_seconds": 0.41}

`p50_ms` and `p99_ms` are the nearest-rank percentiles of the time of one `Save` call;
`peak_rss_kib` and `cpu_seconds` are this Python process's peak resident set and CPU
time (user + system) from `getrusage` at the end.

Usage (from the repository root, with the venv of scripts/requirements-sdk.txt):

    DINGK3_BENCH_APP_SECRET=SECRET target/ci-venv/bin/python scripts/sdk_bench.py \
        --url http://127.0.0.1:PORT/k3cloud/ --acct-id ID --username USER \
        --app-id APP_ID --model model.json --count 20

Exit status: 0 when every save succeeded, 1 when one failed (its reply is printed on
stderr), 2 for invalid arguments.
"""

import argparse
import copy
import json
import math
import os
import resource
import sys
import time

from k3cloud_webapi_sdk.main import K3CloudApiSdk

FORM_ID = "AP_PAYBILL"
SECRET_VARIABLE = "DINGK3_BENCH_APP_SECRET"


def parse_args():
    parser = argparse.ArgumentParser(
        description="Time Kingdee's Python SDK saving one bill per Save call."
    )
    parser.add_argument("--url", required=True, help="K3Cloud base URL ending in /k3cloud/")
    parser.add_argument("--acct-id", required=True, help="account set (data center) id")
    parser.add_argument("--username", required=True, help="K3Cloud user the bills are saved as")
    parser.add_argument("--app-id", required=True, help="third-party app id")
    parser.add_argument("--model", required=True, help="JSON file holding one bill model")
    parser.add_argument("--count", type=int, required=True, help="bills to save")
    parser.add_argument(
        "--bill-prefix",
        default="SDK-BENCH",
        help="bill numbers are PREFIX-1, PREFIX-2, … (default: SDK-BENCH)",
    )
    args = parser.parse_args()
    if args.count <= 0:
        parser.error("--count must be greater than 0")
    return args


def save_data(model):
    """Wrap one model in the Save parameters that dingk3 sends with BatchSave."""
    return {
        "NeedUpDateFields": [],
        "NeedReturnFields": [],
        "IsDeleteEntry": "true",
        "IsVerifyBaseDataField": "true",
        "IsAutoSubmitAndAudit": "false",
        "Model": model,
    }


def percentile(sorted_values, q):
    """Return the nearest-rank percentile `q` (0 to 1) of sorted values, 0 when empty."""
    if not sorted_values:
        return 0.0
    rank = math.ceil(q * len(sorted_values))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def main():
    args = parse_args()
    secret = os.environ.get(SECRET_VARIABLE)
    if not secret:
        print(f"{SECRET_VARIABLE} is not set; it must hold the app secret", file=sys.stderr)
        return 2
    with open(args.model, encoding="utf-8") as file:
        model = json.load(file)

    api = K3CloudApiSdk(args.url, timeout=120)
    api.InitConfig(
        args.acct_id, args.username, args.app_id, secret, args.url, lcid=2052, org_num=0
    )

    failures = 0
    call_ms = []
    started = time.perf_counter()
    for number in range(1, args.count + 1):
        bill = copy.deepcopy(model)
        bill["FBillNo"] = f"{args.bill_prefix}-{number}"
        call_started = time.perf_counter()
        text = api.Save(FORM_ID, save_data(bill))
        call_ms.append((time.perf_counter() - call_started) * 1000.0)
        reply = json.loads(text)
        status = reply.get("Result", {}).get("ResponseStatus", {})
        if status.get("IsSuccess") is not True:
            failures += 1
            print(f"save {number} failed: {json.dumps(reply, ensure_ascii=False)}", file=sys.stderr)
    seconds = time.perf_counter() - started

    saved = args.count - failures
    call_ms.sort()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "bills": saved,
                "failures": failures,
                "seconds": round(seconds, 4),
                "bills_per_s": round(saved / seconds, 3) if seconds > 0 else None,
                "p50_ms": round(percentile(call_ms, 0.50), 2),
                "p99_ms": round(percentile(call_ms, 0.99), 2),
                # Linux reports ru_maxrss in KiB.
                "peak_rss_kib": usage.ru_maxrss,
                "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
            }
        )
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
