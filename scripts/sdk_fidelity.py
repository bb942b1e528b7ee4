#!/usr/bin/env python3
"""Drive Kingdee's official Python SDK against the K3Cloud simulator.

The script starts `simulator k3cloud --listen 127.0.0.1:0`, reads the base URL from the
first line of its stdout, points the SDK (kingdee-cdp-webapi-sdk, signature auth) at it
and checks what the SDK returns:

- BatchSave of one valid and one invalid AP_PAYBILL saves one and rejects the other,
  naming the field;
- BatchSaveQuery (the SDK's asynchronous task mode) saves a bill;
- Save of a bill number already in use fails with MsgCode 11;
- ExecuteBillQuery finds the saved bill, one row per entry;
- View returns it;
- a wrong app secret gives MsgCode 1, an unknown account set a non-200 reply.

Usage (from the repository root):

    python3 -m venv /tmp/sdk-venv
    /tmp/sdk-venv/bin/pip install -r scripts/requirements-sdk.txt
    cargo build -p dingk3-simulator --bin simulator
    /tmp/sdk-venv/bin/python scripts/sdk_fidelity.py [--simulator PATH]

The simulator binary is --simulator (or the first positional argument), else
$SIMULATOR_BIN, else target/debug/simulator. The script stops the simulator it started and exits 1 if any
check fails, printing what differed.
"""

import argparse
import base64
import json
from decimal import Decimal
import os
import queue
import subprocess
import sys
import threading

from k3cloud_webapi_sdk.main import K3CloudApiSdk

# Credentials given to the simulator on its command line (the secret via environment).
ACCT_ID = "6a1b2c3d4e5f60"
USERNAME = "fidelity"
APP_ID = "424242_" + base64.b64encode(b"sdk-fidelity-check-bytes").decode("ascii")
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"

STARTUP_TIMEOUT_SECONDS = 10
FORM_ID = "AP_PAYBILL"

failures = []


def check(condition, what, actual=None, expected=None):
    """Print the result of one check; record a failure with expected and actual values."""
    if condition:
        print(f"ok    {what}")
        return
    detail = f"{what}\n      expected: {expected!r}\n      actual:   {actual!r}"
    print(f"FAIL  {detail}")
    failures.append(detail)


def start_simulator(binary):
    """Start the simulator on a free port; return (process, base URL)."""
    env = dict(os.environ, K3CLOUD_SIM_APP_SECRET=APP_SECRET)
    process = subprocess.Popen(
        [
            binary,
            "k3cloud",
            "--listen",
            "127.0.0.1:0",
            "--acct-id",
            ACCT_ID,
            "--username",
            USERNAME,
            "--app-id",
            APP_ID,
        ],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    lines = queue.Queue()
    threading.Thread(
        target=lambda: lines.put(process.stdout.readline()), daemon=True
    ).start()
    try:
        first_line = lines.get(timeout=STARTUP_TIMEOUT_SECONDS).strip()
    except queue.Empty:
        stop_simulator(process)
        raise RuntimeError(
            f"simulator printed no base URL within {STARTUP_TIMEOUT_SECONDS} s"
        )
    if not first_line.startswith("http://"):
        stop_simulator(process)
        raise RuntimeError(f"unexpected first line from simulator: {first_line!r}")
    return process, first_line


def stop_simulator(process):
    """Stop the simulator this script started, by its pid."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sdk(base_url, acct_id=ACCT_ID, app_secret=APP_SECRET):
    """Build an SDK client configured through InitConfig, which signs every request."""
    api = K3CloudApiSdk(base_url, timeout=30)
    api.InitConfig(
        acct_id, USERNAME, APP_ID, app_secret, base_url, lcid=2052, org_num=0
    )
    return api


def bill_model(bill_no, cost_item="FYXM001"):
    """Build a payment bill to an employee with two rows paid by wire transfer."""
    return {
        "FBillNo": bill_no,
        "FBillTypeID": {"FNUMBER": "FKDLX02_SYS"},
        "FDATE": "2026-11-04 00:00:00",
        "FPAYORGID": {"FNumber": "100"},
        "FSETTLEORGID": {"FNumber": "100"},
        "FCURRENCYID": {"FNumber": "PRE001"},
        "FCONTACTUNITTYPE": "BD_Empinfo",
        "FCONTACTUNIT": {"FNumber": "EMP001"},
        "FRECTUNITTYPE": "BD_Empinfo",
        "FRECTUNIT": {"FNumber": "EMP001"},
        "FPAYBILLENTRY": [
            {
                "FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                "FPURPOSEID": {"FNumber": "SFKYT10_SYS"},
                "FPAYTOTALAMOUNTFOR": "120.50",
                "FACCOUNTID": {"FNumber": "YH001"},
                "FCOSTID": {"FNumber": cost_item},
            },
            {
                "FSETTLETYPEID": {"FNumber": "JSFS04_SYS"},
                "FPURPOSEID": {"FNumber": "SFKYT10_SYS"},
                "FPAYTOTALAMOUNTFOR": "1280.00",
                "FACCOUNTID": {"FNumber": "YH001"},
                "FCOSTID": {"FNumber": "FYXM002"},
            },
        ],
    }


def save_data(models):
    return {
        "NeedUpDateFields": [],
        "NeedReturnFields": [],
        "IsDeleteEntry": "true",
        "IsVerifyBaseDataField": "true",
        "IsAutoSubmitAndAudit": "false",
        "Model": models,
    }


def status_of(reply):
    return reply.get("Result", {}).get("ResponseStatus") or {}


def check_batch_save(api):
    valid_no = "FID-BX-0001"
    invalid_no = "FID-BX-0002"
    reply = json.loads(
        api.BatchSave(
            FORM_ID,
            save_data([bill_model(valid_no), bill_model(invalid_no, "团建活动")]),
        )
    )
    status = status_of(reply)
    check(status.get("IsSuccess") is False, "BatchSave IsSuccess is false", status)
    successes = status.get("SuccessEntitys") or []
    check(
        [(s.get("Number"), s.get("DIndex")) for s in successes] == [(valid_no, 0)],
        "BatchSave saved the valid model at DIndex 0",
        successes,
        [(valid_no, 0)],
    )
    errors = status.get("Errors") or []
    check(
        len(errors) == 1
        and errors[0].get("DIndex") == 1
        and errors[0].get("FieldName") == "FCOSTID"
        and "团建活动" in (errors[0].get("Message") or ""),
        "BatchSave rejected DIndex 1 naming FCOSTID and the unknown value",
        errors,
        "one error, DIndex 1, FieldName FCOSTID, message containing 团建活动",
    )
    check(
        api.cookiesStore.SID != "",
        "SDK picked up the kdservice-sessionid cookie",
        api.cookiesStore.SID,
    )
    return valid_no, successes[0].get("Id") if successes else None


def check_batch_save_query(api):
    bill_no = "FID-BX-0003"
    reply = json.loads(api.BatchSaveQuery(FORM_ID, save_data([bill_model(bill_no)])))
    status = status_of(reply)
    numbers = [s.get("Number") for s in status.get("SuccessEntitys") or []]
    check(
        status.get("IsSuccess") is True and numbers == [bill_no],
        "BatchSaveQuery (the SDK's task mode) saves the bill",
        status,
        {"IsSuccess": True, "Numbers": [bill_no]},
    )


def check_duplicate(api, bill_no):
    reply = json.loads(api.Save(FORM_ID, save_data(bill_model(bill_no))))
    status = status_of(reply)
    expected = f"违反字段唯一性要求：编码唯一。[{bill_no}]在当前系统中已经被使用。"
    messages = [e.get("Message") for e in status.get("Errors") or []]
    check(
        status.get("MsgCode") == 11 and messages == [expected],
        "Save of a used bill number fails with MsgCode 11",
        status,
        {"MsgCode": 11, "Message": expected},
    )


def check_query(api, bill_no, bill_id):
    rows = json.loads(
        api.ExecuteBillQuery(
            {
                "FormId": FORM_ID,
                "FieldKeys": "FBillNo,FID,FPAYBILLENTRY_FEntryID,FPAYTOTALAMOUNTFOR,FCOSTID.FNumber,FDATE",
                "FilterString": f"FBillNo='{bill_no}'",
                "OrderString": "",
                "TopRowCount": 0,
                "StartRow": 0,
                "Limit": 2000,
                "SubSystemId": "",
            }
        ),
        parse_float=Decimal,
    )
    check(len(rows) == 2, "ExecuteBillQuery returns one row per entry", rows)
    if len(rows) == 2:
        check(
            [row[0] for row in rows] == [bill_no, bill_no] and rows[0][1] == bill_id,
            "ExecuteBillQuery rows carry the bill number and id",
            rows,
        )
        check(
            [row[3] for row in rows] == [Decimal("120.50"), Decimal("1280.00")]
            and [row[4] for row in rows] == ["FYXM001", "FYXM002"],
            "ExecuteBillQuery rows carry entry amounts and cost items",
            rows,
        )
        check(
            rows[0][5] == "2026-11-04T00:00:00",
            "ExecuteBillQuery dates read yyyy-MM-ddTHH:mm:ss",
            rows[0][5],
        )
    empty = json.loads(
        api.ExecuteBillQuery(
            {"FormId": FORM_ID, "FieldKeys": "FID", "FilterString": "FBillNo='none'"}
        )
    )
    check(empty == [], "ExecuteBillQuery with no match returns []", empty, [])


def check_view(api, bill_no):
    reply = json.loads(api.View(FORM_ID, {"Number": bill_no}))
    result = reply.get("Result", {})
    check(
        result.get("ResponseStatus", "absent") is None,
        "View success has ResponseStatus null",
        result.get("ResponseStatus", "absent"),
        None,
    )
    bill = result.get("Result") or {}
    check(bill.get("FBillNo") == bill_no, "View returns the bill", bill.get("FBillNo"))
    entries = bill.get("FPAYBILLENTRY") or []
    check(len(entries) == 2, "View returns both entries", len(entries), 2)


def check_wrong_credentials(base_url):
    wrong = sdk(base_url, app_secret="wrong-secret")
    rows = json.loads(wrong.ExecuteBillQuery({"FormId": FORM_ID, "FieldKeys": "FID"}))
    try:
        status = rows[0][0]["Result"]["ResponseStatus"]
    except (IndexError, KeyError, TypeError):
        status = {}
    check(
        status.get("MsgCode") == 1
        and (status.get("Errors") or [{}])[0].get("Message") == "会话信息已丢失，请重新登录",
        "wrong app secret gives MsgCode 1 (wrapped [[…]] for ExecuteBillQuery)",
        rows,
    )
    saved = status_of(json.loads(wrong.Save(FORM_ID, save_data(bill_model("FID-X")))))
    check(saved.get("MsgCode") == 1, "wrong app secret gives MsgCode 1 on Save", saved)

    foreign = sdk(base_url, acct_id="00000000000000")
    try:
        foreign.ExecuteBillQuery({"FormId": FORM_ID, "FieldKeys": "FID"})
        raised = None
    except RuntimeError as error:
        raised = str(error)
    check(
        raised == "Fail to verify thirty passport",
        "unknown account set makes the SDK raise the non-200 reply",
        raised,
        "Fail to verify thirty passport",
    )


def parse_args():
    parser = argparse.ArgumentParser(
        description="Drive Kingdee's official Python SDK against the K3Cloud simulator."
    )
    default = os.environ.get("SIMULATOR_BIN", "target/debug/simulator")
    parser.add_argument(
        "--simulator",
        dest="simulator_option",
        metavar="PATH",
        help=f"simulator binary (default: $SIMULATOR_BIN or {default})",
    )
    parser.add_argument("simulator", nargs="?", default=default, help=argparse.SUPPRESS)
    args = parser.parse_args()
    return args.simulator_option or args.simulator


def main():
    binary = parse_args()
    try:
        process, base_url = start_simulator(binary)
    except (OSError, RuntimeError) as error:
        print(f"cannot start the simulator {binary}: {error}", file=sys.stderr)
        print("build it with: cargo build -p dingk3-simulator --bin simulator", file=sys.stderr)
        return 2
    print(f"simulator pid {process.pid} at {base_url}")
    try:
        api = sdk(base_url)
        bill_no, bill_id = check_batch_save(api)
        check_batch_save_query(api)
        check_duplicate(api, bill_no)
        check_query(api, bill_no, bill_id)
        check_view(api, bill_no)
        check_wrong_credentials(base_url)
    finally:
        stop_simulator(process)
    if failures:
        print(f"\n{len(failures)} check(s) failed")
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
