"""The books of a deploy/faults scenario: every report an agent made, against what the database
stored, what is still spooled and what the server refused. Prints the figures and exits 1 when
a report is lost or stored twice.

    python3 account.py LABEL AGENTS_DIR PSQL DATABASE_URL FQDN_LIKE

AGENTS_DIR holds one folder per agent: log.jsonl (the agent's JSON logs), runs (one exit status
per push) and spool/ (with rejected/). A report "made" is one whose id an agent logged as
delivered, spooled or rejected when it was new; the spool and the server's answers are read
from the same logs.
"""

import json
import os
import re
import subprocess
import sys

label, agents_dir, psql, url, fqdn_like = sys.argv[1:6]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def sql(query):
    out = subprocess.run([psql, "-X", "-tA", "-v", "ON_ERROR_STOP=1", url, "-c", query],
                         check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


made, spooled_ever, replayed, answered_duplicate, retries = set(), set(), set(), 0, 0
runs = failed_runs = unreadable = 0
waiting, rejected = set(), set()
for agent in sorted(os.listdir(agents_dir)):
    folder = os.path.join(agents_dir, agent)
    with open(os.path.join(folder, "runs"), encoding="utf-8") as f:
        statuses = [line.strip() for line in f if line.strip()]
    runs += len(statuses)
    failed_runs += sum(1 for s in statuses if s != "0")
    with open(os.path.join(folder, "log.jsonl"), encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                event = json.loads(line)
            except ValueError:
                unreadable += 1
                continue
            fields = event.get("fields", {})
            message = fields.get("message", "")
            if message == "report delivered":
                made.add(fields["report_id"])
                answered_duplicate += fields.get("duplicate") is True
            elif message == "report spooled":
                made.add(fields["report_id"])
                spooled_ever.add(fields["report_id"])
            elif message == "report kept in rejected/":
                made.update(UUID.findall(fields.get("file", "")))
            elif message.startswith("retrying "):
                retries += 1
            elif message == "spooled report delivered":
                replayed.add(fields["report_id"])
                answered_duplicate += fields.get("duplicate") is True
    spool = os.path.join(folder, "spool")
    for name in os.listdir(spool):
        waiting.update(UUID.findall(name) if name.endswith(".json") else [])
    for name in os.listdir(os.path.join(spool, "rejected")):
        rejected.update(UUID.findall(name) if name.endswith(".json") else [])

stored_rows = sql(f"""select r.report_id from reports r join hosts h on h.id = r.host_id
                      where h.fqdn like '{fqdn_like}'""")
stored = set(stored_rows)
history_twice = int(sql(f"""select count(*) from (
        select 1 from fact_changes c join hosts h on h.id = c.host_id where h.fqdn like '{fqdn_like}'
        group by c.host_id, c.report_id, c.kind, c.key, c.change having count(*) > 1) d""")[0])

lost = made - stored - waiting - rejected
phantoms = stored - made
duplicates = (len(stored_rows) - len(stored)) + len(phantoms) + history_twice + len(stored & waiting)
reports_made_by_runs = runs - len(made)

print(f"{label}: reports sent:      {len(made)}   ({runs} agent runs; {failed_runs} ended without delivering their own report)")
print(f"{label}: retried requests: {retries}   (connection refused or reset, 5xx while the database was away)")
print(f"{label}: stored:            {len(stored_rows)}   (rows in reports; {answered_duplicate} retries answered 'duplicate', nothing written twice)")
print(f"{label}: spooled:           {len(spooled_ever)}   (replayed later: {len(spooled_ever & stored)}; still waiting in a spool: {len(waiting)})")
print(f"{label}: rejected:          {len(rejected)}")
print(f"{label}: lost:              {len(lost)}")
print(f"{label}: duplicates:        {duplicates}   (stored twice: {len(stored_rows) - len(stored)}, stored but never sent: {len(phantoms)}, "
      f"history written twice: {history_twice}, stored and still spooled: {len(stored & waiting)})")
problems = []
if lost:
    problems.append(f"lost report ids: {sorted(lost)[:5]}")
if duplicates:
    problems.append("duplicates")
if reports_made_by_runs > 0:
    problems.append(f"{reports_made_by_runs} agent runs made no report that the logs show")
if unreadable:
    problems.append(f"{unreadable} agent log lines were not JSON (a crash?)")
if waiting:
    problems.append(f"{len(waiting)} reports still waiting in spools after the final drain")
for p in problems:
    print(f"{label}: FAILED: {p}")
sys.exit(1 if problems else 0)
