"""The quality review page (`GET /ui/quality`) in a real browser: headless Chromium (Debian's
`chromium` and `chromium-driver`) driven by Selenium, against the real gateway whose
outcome store holds judged pairs. Checks what a person would see: the sign-in, the savings
and quality figures, pairs side by side, filters, and that stored text is shown, never run.
"""
import pathlib
import sqlite3
import tempfile
import time
import urllib.request

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import TARGET, Proc, _gateway_ready

ADMIN = "admin-key-for-the-page-test"
DAY1, DAY2 = "2026-11-30", "2026-12-01"
MS1, MS2 = 1_796_032_800_000, 1_796_119_200_000  # 10:00 UTC on each day

COLUMNS = (
    "request_id, ts_ms, day, expires_ms, key_id, tenant, policy, route, arm, status, outcome, "
    "score, threshold, propensity, sampled, cost_usd, baseline_usd, latency_ms, prompt_tokens, "
    "completion_tokens, prompt, answer, shadow_route, shadow_answer, verdict_weak_first, "
    "verdict_strong_first, verdict, shadow_cost_usd, judge_cost_usd, judged_ms, feedback_score, "
    "feedback_comment, feedback_ms, id_hash"
)

ROWS = [
    # id, ts, day, policy, route, arm, prompt, answer (client's), shadow answer, verdict, feedback
    ("req-paris", MS2, DAY2, "auto", "small", "weak", "What is the capital of France?", "Paris.",
     "The capital of France is Paris.", ("weak", "tie", "weak_better"), (1.0, "spot on")),
    ("req-proof", MS2 + 60_000, DAY2, "auto", "big", "strong", "Prove that sqrt(2) is irrational.",
     "Suppose sqrt(2) = p/q in lowest terms; then p and q are both even.",
     "It is irrational because it is.", ("strong", "strong", "strong_better"), None),
    ("req-script", MS1, DAY1, "cheap", "small", "weak",
     "<script>document.title='pwned'</script> say hello", "Hello!", "Hello there!",
     ("tie", "tie", "tie"), None),
]


def id_hash(request_id):
    """The store's index key: 64-bit FNV-1a of the id, as a signed integer (sluice_outcomes::id_hash)."""
    h = 0xCBF29CE484222325
    for b in request_id.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h - (1 << 64) if h >= 1 << 63 else h


def fill(db):
    con = sqlite3.connect(db)
    for (rid, ts, day, policy, route, arm, prompt, answer, shadow, verdicts, fb) in ROWS:
        shadow_route = "big" if arm == "weak" else "small"
        con.execute(
            f"INSERT INTO outcomes ({COLUMNS}) VALUES ({', '.join('?' * 34)})",
            (rid, ts, day, ts + 30 * 86_400_000, "a", "acme", policy, route, arm, 200, "completed",
             0.3, 0.5, 1.0, 1, 0.0001 if arm == "weak" else 0.002, 0.002, 100.0, 10, 20,
             prompt, answer, shadow_route, shadow, verdicts[0], verdicts[1], verdicts[2],
             0.002, 0.001, ts + 5000, fb[0] if fb else None, fb[1] if fb else None,
             ts + 9000 if fb else None, id_hash(rid)),
        )
    # A request that was served but not judged: in the figures, not in the pairs.
    con.execute(
        "INSERT INTO outcomes (request_id, ts_ms, day, expires_ms, policy, route, arm, status, outcome, "
        "propensity, sampled, cost_usd, baseline_usd, latency_ms, prompt_tokens, completion_tokens, id_hash) "
        "VALUES ('req-plain', ?, ?, ?, 'auto', 'small', 'weak', 200, 'completed', 0.1, 0, 0.0001, 0.002, 50, 5, 5, ?)",
        (MS2, DAY2, MS2 + 30 * 86_400_000, id_hash("req-plain")),
    )
    con.commit()
    con.close()


@pytest.fixture(scope="module")
def site(mock_addr):
    with tempfile.TemporaryDirectory() as d:
        cfg = pathlib.Path(d) / "sluice.yaml"
        cfg.write_text(f"""
server: {{ admin_key_env: SLUICE_ADMIN }}
providers:
  mock: {{ base_url: http://{mock_addr}/v1 }}
models:
  small: {{ provider: mock, pricing: {{ input: 0.15, output: 0.6 }} }}
  big: {{ provider: mock, pricing: {{ input: 2.5, output: 10 }} }}
policies:
  auto: {{ target: small, strong: big, baseline: big }}
  cheap: {{ target: small, strong: big, baseline: big }}
outcomes: {{ store: "sqlite:outcomes.db" }}
""")
        p = Proc(
            [str(TARGET / "sluice"), "serve", "--config", str(cfg), "--listen", "127.0.0.1:0",
             "--metrics-listen", "127.0.0.1:0", "--log-format", "json"],
            _gateway_ready,
            env={"SLUICE_ADMIN": ADMIN},
        )
        # The gateway created the schema at start-up; the rows go in beside it.
        fill(pathlib.Path(d) / "outcomes.db")
        yield f"http://{p.match}"
        p.stop()


@pytest.fixture(scope="module")
def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    drv.set_page_load_timeout(30)
    yield drv
    drv.quit()


def pairs(drv):
    return {r.get_attribute("data-request-id"): r for r in drv.find_elements(By.CSS_SELECTOR, "tr.pair")}


def click_and_load(drv, element_id):
    """Clicks a submit button and waits until the next page has replaced this one."""
    old = drv.find_element(By.TAG_NAME, "body")
    drv.find_element(By.ID, element_id).click()
    WebDriverWait(drv, 15).until(EC.staleness_of(old))


def sign_in(drv, site, key):
    drv.get(f"{site}/ui/quality")
    # Not signed in: the sign-in form, not the data.
    assert drv.find_elements(By.ID, "sign-in")
    assert not drv.find_elements(By.ID, "pairs")
    drv.find_element(By.ID, "key").send_keys(key)
    click_and_load(drv, "sign-in")


def test_id_hash_is_the_stores():
    # FNV-1a test vectors, as in crates/sluice-outcomes.
    assert id_hash("") % (1 << 64) == 0xCBF29CE484222325
    assert id_hash("foobar") % (1 << 64) == 0x85944171F73967E8


def test_review_page_in_a_browser(site, browser):
    drv = browser
    sign_in(drv, site, "not the key")
    assert "not the admin key" in drv.find_element(By.ID, "login-error").text
    sign_in(drv, site, ADMIN)
    assert drv.current_url.endswith("/ui/quality")

    # The figures on top cover all four served requests and the three judged pairs.
    card = lambda i: drv.find_element(By.ID, i).text
    assert card("requests").endswith("4")
    assert "3" in card("judged")
    # weak_better and tie of three parsed verdicts: the weak model was as good 66.7% of the time.
    assert "66.7%" in card("weak-ok") and "n=3" in card("weak-ok")
    assert "75.0%" in card("weak-share")  # 3 of 4 served by the weak model
    # cost 3 x 0.0001 + 0.002, baseline 4 x 0.002: saved 0.0057 of 0.008.
    assert "$0.0057" in card("savings") and "71.2%" in card("savings")
    assert "+1.00" in card("feedback")

    rows = pairs(drv)
    assert set(rows) == {"req-paris", "req-proof", "req-script"}
    cells = lambda r: [c.text for c in r.find_elements(By.TAG_NAME, "td")]
    paris = cells(rows["req-paris"])
    # Prompt, weak answer, strong answer side by side; verdict; feedback.
    assert paris[3] == "What is the capital of France?"
    assert paris[4] == "Paris."
    assert paris[5] == "The capital of France is Paris."
    assert paris[6].startswith("weak_better")
    assert "spot on" in paris[7]
    proof = cells(rows["req-proof"])
    # Served by the strong model: its answer is the client's, the weak one is the shadow's.
    assert proof[4] == "It is irrational because it is."
    assert proof[5].startswith("Suppose sqrt(2)")
    # Stored text is shown as text, never run.
    script = cells(rows["req-script"])
    assert script[3].startswith("<script>document.title='pwned'</script>")
    assert "pwned" not in drv.title

    # Filters, as a person uses them: pick, apply.
    Select(drv.find_element(By.ID, "filter-verdict")).select_by_value("strong_better")
    click_and_load(drv, "apply")
    assert set(pairs(drv)) == {"req-proof"}
    assert "verdict=strong_better" in drv.current_url
    Select(drv.find_element(By.ID, "filter-verdict")).select_by_value("")
    Select(drv.find_element(By.ID, "filter-policy")).select_by_value("cheap")
    click_and_load(drv, "apply")
    assert set(pairs(drv)) == {"req-script"}
    assert card("requests").endswith("1")
    Select(drv.find_element(By.ID, "filter-policy")).select_by_value("")
    Select(drv.find_element(By.ID, "filter-day")).select_by_value(DAY2)
    click_and_load(drv, "apply")
    assert set(pairs(drv)) == {"req-paris", "req-proof"}
    Select(drv.find_element(By.ID, "filter-day")).select_by_value(DAY1)
    Select(drv.find_element(By.ID, "filter-policy")).select_by_value("auto")
    click_and_load(drv, "apply")
    assert drv.find_element(By.ID, "no-pairs").text == "No judged pairs match."


def test_review_page_needs_the_admin_key(site):
    def get(headers):
        req = urllib.request.Request(f"{site}/ui/quality", headers=headers)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()

    status, headers, _ = get({})
    assert status == 303 and headers["location"] == "/ui/login"
    status, headers, _ = get({"Authorization": "Bearer wrong"})
    assert status == 303
    status, _, body = get({"Authorization": f"Bearer {ADMIN}"})
    assert status == 200 and 'id="pairs"' in body


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
