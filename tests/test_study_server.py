"""test_study_server.py EXE SOURCE_DIR WORK_DIR — `circumplex study` end to end over real HTTP.

study make (twice: the same seed makes the same study) → study serve → 20 raters voting at
once (every acknowledged vote stored exactly once) → kill -9 of the server during a second
load, a restart on the same database (every 201 is there, none twice, each rater resumes where
they stopped) → hostile requests (10 MB body, malformed JSON, '..' paths, SQL in strings) →
a real browser session (headless Chromium via puppeteer-core, tests/browser) on the 2D and 3D
pages → study rate (the judge) → study report. Stops by itself: every wait is bounded."""
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from script_support import Checks  # noqa: E402

EXE, SRC, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
MODEL = os.path.join(SRC, "assets/models/default")
JUDGE = os.path.join(SRC, "assets/models/judge")
STUDY = os.path.join(WORK, "study")
DB = os.path.join(WORK, "votes.sqlite")
checks = Checks()


def run(*args, timeout=300):
    r = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, OMP_WAIT_POLICY="passive"))
    if r.returncode != 0:
        sys.exit("circumplex %s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r.stdout


class Server:
    """`circumplex study serve --port 0`; reads the port and the admin token it prints."""

    def __init__(self):
        self.log = open(os.path.join(WORK, "serve.log"), "a")
        self.proc = subprocess.Popen([EXE, "study", "serve", "--study", STUDY, "--db", DB, "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        first, second = self.proc.stdout.readline(), self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        if not m or not second.startswith("admin token: "):
            sys.exit("the server did not print its address and admin token: %r %r" % (first, second))
        self.port, self.admin = int(m.group(1)), second.split()[2]

    def request(self, method, path, body=None, raw_body=None, timeout=20):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        data = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        c.request(method, path, body=data, headers={"Content-Type": "application/json"} if data is not None else {})
        r = c.getresponse()
        payload = r.read()
        c.close()
        return r.status, payload

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        return code


def rater_session(server, name, acked, errors, tokens, may_be_killed=False):
    """One rater: joins (its token goes into `tokens`), then votes through both sets until 204
    (or, with may_be_killed, the server goes away). Every vote answered 201 goes into `acked` as
    (token, image); a lost connection is an error unless the server may be killed under us."""
    try:
        status, body = server.request("POST", "/api/raters", {"name": name})
        if status != 201:
            errors.append("%s: join got %d" % (name, status))
            return
        token = json.loads(body)["rater"]
        tokens.append(token)
        rate_until_done(server, token, acked, errors)
    except (OSError, http.client.HTTPException) as e:
        if not may_be_killed:
            errors.append("%s: %s: %s" % (name, type(e).__name__, e))


def rate_until_done(server, token, acked, errors):
    for s in ("2d", "3d"):
        while True:
            status, body = server.request("GET", "/api/next?rater=%s&set=%s" % (token, s))
            if status == 204:
                break
            if status != 200:
                errors.append("next got %d: %s" % (status, body))
                return
            image = json.loads(body)["image"]
            status, body = server.request("POST", "/api/votes", {"rater": token, "image": image, "score": 1 + hash(image) % 5})
            if status != 201:
                errors.append("vote on %s got %d: %s" % (image, status, body))
                return
            acked.append((token, image))


def stored_votes():
    with sqlite3.connect(DB) as db:
        return db.execute("SELECT rater, image FROM votes").fetchall()


# ---- make: two sets of 2 parts x 10, deterministic ---------------------------------------
os.makedirs(WORK, exist_ok=True)
for f in (DB, DB + "-wal", DB + "-shm"):
    if os.path.exists(f):
        os.remove(f)
run("study", "make", "--model", MODEL, "--out", STUDY, "--parts", "2", "--per-part", "10", "--seed", "5", "--threads", "2")
run("study", "make", "--model", MODEL, "--out", STUDY + "-again", "--parts", "2", "--per-part", "10", "--seed", "5", "--threads", "2")
study = json.load(open(os.path.join(STUDY, "study.json")))
again = json.load(open(os.path.join(STUDY + "-again", "study.json")))
checks.expect(study["images"] == again["images"], "the same seed makes the same study.json")
checks.expect(open(os.path.join(STUDY, "3d/3d-p2-004.png"), "rb").read() == open(os.path.join(STUDY + "-again", "3d/3d-p2-004.png"), "rb").read(),
              "the same seed draws the same faces")
checks.expect(sorted(study["sets"]) == ["2d", "3d"] and len(study["images"]) == 40, "a 3D model gives both sets: 2 x 2 x 10 images")
checks.expect(all(os.path.exists(os.path.join(STUDY, "contact_%s_part%d.png" % (s, p))) for s in ("2d", "3d") for p in (1, 2)),
              "a contact sheet per part")
checks.expect(all(im["point"][2] == 0 for im in study["images"] if im["set"] == "2d"), "the 2d set lies in the plane")
checks.expect(any(abs(im["point"][2]) > 0.2 for im in study["images"] if im["set"] == "3d"), "the 3d set leaves the plane")

# ---- 20 raters at once ---------------------------------------------------------------------
server = Server()
acked, errors = [], []
threads = [threading.Thread(target=rater_session, args=(server, "rater %d" % k, acked, errors, [])) for k in range(20)]
t0 = time.time()
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=120)
checks.expect(not any(t.is_alive() for t in threads), "20 concurrent raters finished within 120 s")
checks.expect(not errors, "no errors under concurrent load: %s" % errors[:3])
rows = stored_votes()
checks.expect(len(acked) == 20 * 40, "every rater rated every image (%d acknowledged)" % len(acked))
checks.expect(sorted(rows) == sorted(acked), "every acknowledged vote stored exactly once (%d rows)" % len(rows))
print("20 raters: %d votes in %.1f s" % (len(acked), time.time() - t0))

# ---- kill -9 under load, restart, resume -------------------------------------------------
acked2, errors2, tokens = [], [], []
threads = [threading.Thread(target=rater_session, args=(server, "late %d" % k, acked2, errors2, tokens, True)) for k in range(20)]
for t in threads:
    t.start()
deadline = time.time() + 30
while len(acked2) < 150 and time.time() < deadline:
    time.sleep(0.01)
server.proc.kill()  # SIGKILL mid-load
server.proc.wait()
for t in threads:
    t.join(timeout=60)
at_kill = list(acked2)
checks.expect(150 <= len(at_kill) < 20 * 40, "the kill came mid-load (%d votes acknowledged)" % len(at_kill))
server = Server()
rows = stored_votes()
checks.expect(set(at_kill) <= set(rows), "every vote that got a 201 before kill -9 is stored")
checks.expect(len(rows) == len(set(rows)), "no vote stored twice")
resumed, errors3 = [], []
for token in tokens:
    status, body = server.request("GET", "/api/progress?rater=" + token)
    done_before = sum(1 for r in rows if r[0] == token)
    checks.expect(status == 200 and sum(v["rated"] for v in json.loads(body)["sets"].values()) == done_before,
                  "progress after restart shows what was stored")
    rate_until_done(server, token, resumed, errors3)
checks.expect(not errors3, "raters resume after the restart: %s" % errors3[:3])
checks.expect(not (set(resumed) & set(rows)), "a resumed rater is never asked an image already stored")
rows = stored_votes()
late = tokens
checks.expect(len(rows) == len(set(rows)) == 20 * 40 + 40 * len(late), "after resuming, every rater rated each image once (%d)" % len(rows))

# ---- hostile requests ----------------------------------------------------------------------
before = len(stored_votes())
status, body = server.request("POST", "/api/raters", raw_body=b"{" + b" " * (10 << 20) + b"}", timeout=60)
checks.expect(status == 413 and "error" in json.loads(body), "a 10 MB body gets 413 with a JSON error (%d)" % status)
for raw, want in ((b'{"name": ', 400), (b'{"rater": 1, "image": [], "score": "5"}', 400), (b'null', 400)):
    status, body = server.request("POST", "/api/votes", raw_body=raw)
    checks.expect(status == want and "error" in json.loads(body), "bad vote body %r → %d (%d)" % (raw, want, status))
status, body = server.request("POST", "/api/raters", {"name": "x'); DELETE FROM votes; --"})
checks.expect(status == 201, "SQL in a name is just a name")
for path in ("/images/../study.json", "/images/2d/..%2f..%2fstudy.json", "/../votes.sqlite", "/%2e%2e/study.json"):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    reply = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    s.close()
    code = int(reply.split(b" ")[1])
    checks.expect(400 <= code < 500 and b'"error"' in reply and b"circumplex-study" not in reply, "%s is refused (%d)" % (path, code))
checks.expect(len(stored_votes()) == before, "hostile requests changed nothing")
status, body = server.request("GET", "/api/export.csv")
checks.expect(status == 403, "the export needs the admin token")
status, body = server.request("GET", "/api/export.csv?admin=" + server.admin)
checks.expect(status == 200 and body.decode().count("\n") == 1 + before, "the admin export lists every vote")

# ---- a real browser on the 2D and 3D pages ----------------------------------------------------
browser_dir = os.path.join(SRC, "tests/browser")
if not os.path.isdir(os.path.join(browser_dir, "node_modules/puppeteer-core")) or not os.path.exists("/usr/bin/chromium"):
    checks.expect(False, "the browser test needs /usr/bin/chromium and tests/browser/node_modules (tools/setup.sh installs both)")
else:
    shots = os.path.join(WORK, "browser")
    r = subprocess.run(["node", os.path.join(browser_dir, "study_session.js"), "--url", "http://127.0.0.1:%d" % server.port, "--out", shots,
                        "--name", "Browser Rater"], capture_output=True, text=True, timeout=180)
    print(r.stdout[-600:], r.stderr[-600:])
    summary = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}
    checks.expect(r.returncode == 0, "the browser session completed")
    checks.expect(summary.get("votes_2d") == 20 and summary.get("votes_3d") == 20 and summary.get("rotated") is True,
                  "the browser voted on all 40 images and the drag rotated the ball: %s" % summary)
    with sqlite3.connect(DB) as db:
        n = db.execute("SELECT COUNT(*) FROM votes JOIN raters ON votes.rater = raters.token WHERE raters.name = 'Browser Rater'").fetchone()[0]
    checks.expect(n == 40, "the browser's 40 votes are in the database (%d)" % n)
    checks.expect(all(os.path.getsize(os.path.join(shots, f)) > 20000 for f in ("study_2d.png", "study_3d.png")), "screenshots of both pages")
checks.expect(server.stop() == 0, "SIGTERM stops the server cleanly")

# ---- the judge as a rater, and the report ------------------------------------------------------
out = run("study", "rate", "--study", STUDY, "--db", DB, "--judge", JUDGE, "--threads", "2")
checks.expect("40 judge vote(s) added" in out, "the judge rates all 40 images: " + out.strip())
out = run("study", "rate", "--study", STUDY, "--db", DB, "--judge", JUDGE, "--threads", "2")
checks.expect("0 judge vote(s) added" in out, "a rerun adds nothing")
report_dir = os.path.join(WORK, "report")
run("study", "report", "--study", STUDY, "--db", DB, "--out", report_dir, "--raters", "judge")
rep = json.load(open(os.path.join(report_dir, "report.json")))
checks.expect(rep["votes"] == {"2d": 20, "3d": 20} and rep["alpha_interval"]["2d"] is None, "judge report: 20 + 20 votes, alpha n/a for one rater")
run("study", "report", "--study", STUDY, "--db", DB, "--out", report_dir, "--raters", "humans")
rep = json.load(open(os.path.join(report_dir, "report.json")))
humans = 20 + len(late) + 1
checks.expect(rep["votes"]["2d"] == humans * 20 and rep["rater_count"] == humans, "humans report: %d raters x 20 images per set (%s)" % (humans, rep["votes"]))
checks.expect(rep["alpha_interval"]["2d"] is not None, "alpha over %d raters" % humans)
checks.expect(len(rep["classes"]) == 20, "Table 1 has the 20 C2A2 classes")
sys.exit(checks.finish("study server: make, 20 raters, kill -9 + resume, hostile requests, browser, rate, report: all held"))
