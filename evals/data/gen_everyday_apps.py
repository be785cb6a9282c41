#!/usr/bin/env python3
"""Writes everyday-apps.jsonl: a second, independently written set of everyday routing data.

Where everyday.jsonl (gen_everyday.py) reads like a person typing into a chat app, this set
reads like the prompts that LLM features inside products send: support assistants, e-commerce
tools, writing and email assistants, meeting notes, HR tools, IDE coding assistants,
spreadsheet helpers, tutoring apps, travel, health and fitness, legal and finance helpers,
analytics/BI question answering. Many prompts carry an app-style instruction, a system-prompt
preamble and pasted context (a ticket, a JSON record, a transcript, a code snippet, a table).

Every prompt is hand-written and held here as a literal list. Families may be mixed: each
prompt carries its own label, decided by the author from the nature of the task before any
model saw it (see README.md):

  E (weak=1, strong=1): a small, cheap chat model is expected to do the task fully and
     correctly (extraction, classification, short summaries of given text, reformatting,
     rewriting, translation, simple lookups, templated replies, one-step arithmetic or unit
     conversion, simple well-known code, single-step homework).
  H (weak=0, strong=1): multi-step reasoning, careful multi-step quantitative work, expert
     judgement with real stakes, non-trivial code, planning under many constraints, or
     synthesis across a long context with conflicting facts.

Run from anywhere:  python3 evals/data/gen_everyday_apps.py
Output is deterministic: families in name order, prompts in the order written below, one
json.dumps(..., ensure_ascii=False) object per line. The script refuses to write if a prompt
appears twice, if a prompt is also in everyday.jsonl or everyday-table.jsonl (exactly or after
normalising), or if a prompt's word set has Jaccard similarity >= 0.6 with a check-table row.
Stdlib only.
"""

import json
import os
import re
import sys
import textwrap
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "everyday-apps.jsonl")
OTHER_SETS = ("everyday.jsonl", "everyday-table.jsonl")
TABLE = "everyday-table.jsonl"
JACCARD_LIMIT = 0.6

E = 1  # easy: weak model suffices
H = 0  # hard: route to the strong model


def P(s):
    """A multi-line prompt written indented in this file: dedent, drop the outer blank lines."""
    return textwrap.dedent(s).strip("\n")


F = {}

# ---------------------------------------------------------------------------------------------
# analytics_bi: "ask your data" features in BI tools and dashboards.
# ---------------------------------------------------------------------------------------------

F["analytics_bi"] = [
    (E, P(r"""
        You are the Ask-Your-Data assistant inside Metricly. Schema:
        orders(order_id bigint, customer_id bigint, created_at timestamptz, total_usd numeric, status text)
        User question: "how many orders did we get yesterday?"
        Return only a PostgreSQL query, no explanation.
    """)),
    (E, "Dashboard tile reads 'WAU 12,430 ▲8.2% WoW'. Rewrite it as one plain sentence for the CEO's weekly email."),
    (E, P(r"""
        Monthly revenue (USD), exported from the finance dashboard:

        | month | revenue |
        |---|---|
        | 2024-01 | 182,400 |
        | 2024-02 | 176,950 |
        | 2024-03 | 201,300 |
        | 2024-04 | 198,720 |
        | 2024-05 | 214,060 |
        | 2024-06 | 209,880 |

        Which month had the highest revenue? Answer with the month only.
    """)),
    (E, "write sql: top 5 products by units sold in the last 30 days. tables sales(product_id, qty, sold_at) and products(id, name). postgres"),
    (E, "Convert this MySQL to BigQuery Standard SQL: SELECT DATE_FORMAT(created_at, '%Y-%m') AS month, COUNT(*) AS n FROM signups GROUP BY month ORDER BY month;"),
    (E, "Chart auto-title is 'count of id by dt'. The columns are signup id and signup date. Suggest a better title, under 8 words."),
    (E, "Conversion rate went from 2.4% to 3.0% this month. What's the relative increase in percent?"),
    (E, "Glossary panel entry needed: define 'net revenue retention' in at most 40 words for business users of our BI tool."),
    (E, P(r"""
        Tag each analytics question with one team: sales, marketing, product or finance. Output JSON list of {"q": n, "team": ...}.
        1. What was our cost per lead from LinkedIn ads in Q3?
        2. How many deals closed above $50k last month?
        3. Which onboarding step has the biggest drop-off?
        4. What is our cash runway at the current burn?
        5. Did the new pricing page change trial starts?
        6. Which reps are below quota?
    """)),
    (E, P(r"""
        Metrics API response:
        {"period": "2024-03", "revenue_usd": 486200, "active_paying_users": 11580, "new_users": 2140}
        Using only this data, answer the user: "what was our ARPU in March?" Round to cents.
    """)),
    (E, P(r"""
        Explain in plain English, two sentences max, what this query returns:

        SELECT customer_id, COUNT(*) AS n_orders
        FROM orders
        WHERE status = 'delivered' AND created_at >= '2024-01-01'
        GROUP BY customer_id
        HAVING COUNT(*) > 3;
    """)),
    (E, "Suggest 4 KPIs for the operations dashboard of a food-delivery app, one line each."),
    (E, P(r"""
        Here is the raw result of the weekly query, paste-ready for Slack. Turn it into 3 short bullets for the #growth channel, no analysis beyond what's here.

        week,signups,activated,paid_conversions,churned
        2024-W18,3120,1984,212,88
        2024-W19,3390,2101,236,91
        2024-W20,2875,1822,198,104

        Note from analyst: W20 had the payment-provider outage on Tuesday.
    """)),
    (E, "Mi dashboard muestra 'Tasa de rebote: 64 %'. ¿Qué significa eso en una frase sencilla?"),
    (H, P(r"""
        You are the analyst copilot in Metricly. Lead with the numbers, then explain.
        Our overall trial-to-paid conversion fell from 8.0% in April to 7.4% in May, yet every acquisition channel improved. Data:

        channel   | April trials | April paid | May trials | May paid
        organic   | 4,000        | 480        | 3,000      | 375
        paid_ads  | 2,000        | 60         | 5,000      | 175
        referral  | 1,000        | 20         | 500        | 12

        Check the numbers, explain what's going on, and decompose the change in overall conversion into a channel-mix effect and a within-channel rate effect.
    """)),
    (H, P(r"""
        Write one PostgreSQL query that produces a weekly retention triangle. events(user_id, event_at timestamptz). A user's cohort is the ISO week of their first event. For each cohort and each week offset 0..12, show the share of the cohort active in that week. Offsets with no activity must show 0, not be missing, and cohorts younger than the offset must show NULL.
    """)),
    (H, P(r"""
        We ran a checkout A/B test. The PM looked at the dashboard every morning and stopped the test on day 9, the first day the p-value was under 0.05. Final numbers: control 18,240 sessions / 1,013 orders, variant 18,115 sessions / 1,102 orders. He wants to ship. Is the result trustworthy, what is the actual problem with how it was run, and what would you do now?
    """)),
    (H, P(r"""
        Finance says Q2 revenue per customer was $312; my query says $349. Why is mine higher?

        SELECT c.segment, SUM(oi.quantity * oi.unit_price) / COUNT(DISTINCT c.id) AS rev_per_customer
        FROM customers c
        JOIN orders o ON o.customer_id = c.id
        JOIN order_items oi ON oi.order_id = o.id
        JOIN payments p ON p.order_id = o.id
        WHERE o.created_at >= '2024-04-01' AND o.created_at < '2024-07-01'
          AND p.status = 'captured'
        GROUP BY c.segment;

        (Some orders are paid in two or three instalments.)
    """)),
    (H, "Baseline checkout conversion 4%, we want to detect a 10% relative lift, two-sided alpha 0.05, power 80%. We get 6,000 checkout sessions a day split 50/50. How many days must the test run? Show the calculation."),
    (H, "SQL: sessionize clicks per user, new session after 30 idle minutes."),
    (H, P(r"""
        Google Analytics says paid search drove 1,240 conversions last quarter; our internal attribution (last non-direct touch over a 30-day window) says 860; the ad platform reports 1,710. Spend was $212k. Leadership wants one number for CAC by channel. Explain why the three disagree, which biases each has, and propose a defensible method we can use going forward, including how to validate it.
    """)),
    (H, P(r"""
        Funnel chart shows: Viewed product 40,210 → Added to cart 9,870 → Started checkout 11,305 → Purchased 6,020. How can step 3 be bigger than step 2? Here is the query behind each step:

        SELECT COUNT(*) FROM events WHERE name = :step_name AND ts BETWEEN :from AND :to;

        Fix the funnel so it counts users who did the steps in order within a 7-day window, and explain each change.
    """)),
    (H, "Monthly ARPU $42, gross margin 70%, monthly logo churn 3.5%, discount rate 1% per month, blended CAC $310. Compute LTV, LTV:CAC and months to recover CAC on a gross-margin basis, and say which assumption the result is most sensitive to."),
    (H, "A: 120/2000 conversions, B: 146/2000. Significant at 5%? Show the test."),
    (H, P(r"""
        We are a two-sided marketplace for home cleaners. Propose a north-star metric plus 3-4 guardrail metrics. Constraints: it must not reward pushing cleaners into back-to-back jobs, must not be gameable by discount-driven one-off bookings, and must be computable daily from bookings, cancellations, ratings and payouts. Justify each choice and describe one way each metric could still be gamed.
    """)),
    (H, P(r"""
        Revenue by week from our BI tool, Q1 vs Q2:
        Q1 weekly avg: 84,300
        Q2 weekly avg: 118,900
        The CFO asks why Q2 grew 41%. Facts I found: on 2024-04-15 the EU store moved from reporting in EUR to reporting in USD (EUR≈1.08 USD), but the ETL still tags every row with currency='USD'; the EU store is about 35% of volume; we also ran a 20%-off promo for two weeks in May; and refunds started being netted out in a separate table from May 1. Write the explanation you'd send the CFO, with an estimate of the real growth and what you'd need to confirm.
    """)),
    (H, "Median order value per month in MySQL 5.7, without window functions."),
    (H, P(r"""
        OLS output from our pricing analysis (dependent: log(units)):

        coef        estimate   std.err
        intercept    4.812      0.041
        log_price   -1.215      0.088
        returning    0.334      0.052
        discount     0.091      0.030
        returning:discount  -0.118  0.044
        R^2 = 0.61, n = 8,420 store-weeks; price and discount have correlation 0.72.

        What is the effect of running a discount for returning vs new customers, how confident can we be, and what does the price/discount correlation do to the interpretation?
    """)),
    (H, "NPS last quarter: 150 responses, 35% promoters, 18% detractors. This quarter: 412 responses, 38% promoters, 21% detractors. Compute both NPS values and tell me whether the change is distinguishable from noise, with the method."),
    (E, "We tracked 40 metrics in this test and one is up 2% with p = 0.04. Ship it?"),
]

# ---------------------------------------------------------------------------------------------
# code_assistant: requests from a coding assistant inside an IDE, often with the open file.
# ---------------------------------------------------------------------------------------------

F["code_assistant"] = [
    (E, P(r"""
        [IDE context: file utils/money.py, cursor inside function]
        Add a Google-style docstring to this function. Do not change the code.

        def split_evenly(total_cents: int, people: int) -> list[int]:
            base, rest = divmod(total_cents, people)
            return [base + 1 if i < rest else base for i in range(people)]
    """)),
    (E, P(r"""
        Rename the variables in this function to descriptive names and return the full function.

        function f(a, b) {
          const c = a.filter(d => d.active);
          const e = c.map(d => d.price * d.qty);
          return e.reduce((x, y) => x + y, 0) * (1 - b);
        }
    """)),
    (E, P(r"""
        Generate a TypeScript interface for this API response:
        {"id": "usr_91f", "email": "kim@example.com", "plan": "pro", "seats": 5, "trial_ends_at": null, "tags": ["beta", "eu"]}
    """)),
    (E, P(r"""
        Convert this to async/await, keep the behaviour:

        function loadConfig(path, cb) {
          fs.readFile(path, 'utf8', (err, data) => {
            if (err) return cb(err);
            try { cb(null, JSON.parse(data)); } catch (e) { cb(e); }
          });
        }
    """)),
    (E, "generate a .gitignore for a python project using venv, pytest, mypy and jupyter"),
    (E, P(r"""
        Write pytest tests for this function: normal case, empty string, and punctuation.

        import re
        def slugify(title: str) -> str:
            return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    """)),
    (E, r"What does this regex match? ^\d{5}(-\d{4})?$"),
    (E, P(r"""
        rustc says:
        error[E0382]: borrow of moved value: `names`
          --> src/main.rs:5:20
        3 |     let names = vec![String::from("a"), String::from("b")];
        4 |     let joined = consume(names);
        5 |     println!("{:?}", names);
          |                    ^^^^^ value borrowed here after move
        What does it mean and what's the simplest fix?
    """)),
    (E, P(r"""
        Add type hints to this function:

        def merge_counts(a, b):
            out = dict(a)
            for k, v in b.items():
                out[k] = out.get(k, 0) + v
            return out
    """)),
    (E, "Write a Dockerfile for a Flask app: Python 3.12 slim, requirements.txt, gunicorn on port 5000, non-root user."),
    (E, P(r"""
        Write a Conventional Commits message for this diff (subject line + short body):

        --- a/src/api/users.ts
        +++ b/src/api/users.ts
        @@ -41,7 +41,10 @@ export async function getUser(id: string) {
        -  const res = await fetch(`${BASE}/users/${id}`);
        +  const res = await fetch(`${BASE}/users/${encodeURIComponent(id)}`);
        +  if (res.status === 404) {
        +    return null;
        +  }
           if (!res.ok) throw new ApiError(res.status);
           return res.json();
        --- a/src/api/users.test.ts
        +++ b/src/api/users.test.ts
        @@ -12,0 +13,6 @@
        +  it('returns null for unknown users', async () => {
        +    mockFetch(404);
        +    expect(await getUser('nope')).toBeNull();
        +  });
    """)),
    (E, P(r"""
        Port this Python to Go:

        def count_vowels(text):
            return sum(1 for ch in text.lower() if ch in "aeiou")
    """)),
    (E, "vscode shortcut to select every occurrence of the current word on mac?"),
    (E, "Format this SQL with one clause per line and uppercase keywords: select u.id,u.email,count(o.id) from users u left join orders o on o.user_id=u.id where u.created_at>'2024-01-01' group by u.id,u.email order by 3 desc"),
    (E, "Add a Makefile target `lint` that runs `ruff check src` and then `mypy src`, and make `make` with no target run it."),
    (E, "In Kotlin, how do I provide a default value when a nullable String is null?"),
    (H, "Our job runner starts a log-shipping thread, then forks workers with multiprocessing (Linux, default start method). About 1 in 50 workers hangs forever at its first log call. Why, and what's a robust fix?"),
    (H, P(r"""
        Search box bug: when I type fast, the results sometimes show matches for an older query. Find the cause and fix it properly (cancellation, not just a debounce).

        function Search() {
          const [q, setQ] = useState('');
          const [items, setItems] = useState([]);
          useEffect(() => {
            if (!q) return;
            fetch(`/api/search?q=${q}`).then(r => r.json()).then(setItems);
          }, [q]);
          return <><input value={q} onChange={e => setQ(e.target.value)} /><List items={items} /></>;
        }
    """)),
    (H, P(r"""
        [IDE context: file src/handlers/user.rs, whole function selected]
        Our tokio service hangs under load, no panic, CPU idle. Why, and how do I restructure it?

        async fn handle(state: Arc<Mutex<State>>, req: Request) -> Response {
            let mut s = state.lock().unwrap();   // std::sync::Mutex
            let user = s.cache.get(&req.user).cloned();
            let user = match user {
                Some(u) => u,
                None => {
                    let u = db::load_user(&req.user).await;   // network call
                    s.cache.insert(req.user.clone(), u.clone());
                    u
                }
            };
            s.hits += 1;
            render(user)
        }
    """)),
    (H, "TypeScript: debounce that also aborts the in-flight fetch, never drops the final call, and returns a promise that resolves with the latest result. Include tests with fake timers."),
    (H, P(r"""
        [IDE context: file search/bisect.py, lines 1–9 selected]
        This binary search hangs forever for some inputs. Find an input that triggers it, explain why, and fix it without changing the function's contract (returns the first index with a[i] >= x, or len(a)).

        def lower_bound(a, x):
            lo, hi = 0, len(a)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if a[mid - 1] < x:
                    lo = mid
                else:
                    hi = mid
            return lo
    """)),
    (H, P(r"""
        Reviewer says this cache isn't thread-safe even though it uses ConcurrentHashMap, and that the obvious computeIfAbsent fix will blow up in production. Is he right on both counts? loadFromDb for bundle SKUs calls get() for each component SKU. Show the failing interleavings and give a fix that loads each SKU at most once.

        class PriceCache {
            private final Map<String, BigDecimal> prices = new ConcurrentHashMap<>();
            BigDecimal get(String sku) {
                BigDecimal p = prices.get(sku);
                if (p == null) {
                    p = loadFromDb(sku);   // slow; must run at most once per SKU
                    prices.put(sku, p);
                }
                return p;
            }
        }
    """)),
    (H, P(r"""
        test_report_dates passes locally and fails in CI only on runs that start between 00:00 and 01:00 UTC. Why?

        def test_report_dates():
            report = build_report(start=date.today() - timedelta(days=7))
            assert report.days[-1] == datetime.now().date()

        # build_report uses datetime.now(tz=ZoneInfo("Europe/Berlin")).date() internally
        # CI runners use UTC; devs are in Berlin
    """)),
    (H, P(r"""
        gcc -O0: prints 'done'. gcc -O2: never terminates. Explain what the compiler is allowed to do here and rewrite the loop so it's well-defined.

        int count_until_overflow(void) {
            int n = 0;
            for (int i = 1; i > 0; i += i) n++;
            return n;
        }
        int main(void) { printf("%d\n", count_until_overflow()); puts("done"); }
    """)),
    (H, "Design the plugin API for our desktop note-taking app so third-party plugins can read and modify notes but can never freeze the UI thread or read other plugins' storage. Electron app. Cover process model, IPC surface, permissions and versioning."),
    (H, P(r"""
        Node API memory grows ~40 MB/hour until OOM. Heap snapshot shows thousands of closures retained by an EventEmitter. Where is the leak and what's the fix?

        const bus = new EventEmitter();
        app.get('/orders/:id/stream', (req, res) => {
          const onUpdate = (o) => { if (o.id === req.params.id) res.write(JSON.stringify(o) + '\n'); };
          bus.on('order-updated', onUpdate);
          res.setHeader('Content-Type', 'application/x-ndjson');
        });
    """)),
    (H, P(r"""
        Sometimes the logs say "Task exception was never retrieved" and the whole job hangs until the 10 min timeout. What's wrong, and how should this be written so one failure cancels the rest cleanly?

        async def crawl(urls):
            session = aiohttp.ClientSession()
            tasks = [asyncio.create_task(get(session, u)) for u in urls]
            results = []
            for t in tasks:
                try:
                    results.append(await t)
                except Exception:
                    break
            return results
    """)),
    (H, "Balanced interval tree in TypeScript: insert, delete, overlap query. With tests."),
    (H, P(r"""
        Users report duplicate and missing items when scrolling the activity feed while new items arrive. Current API: GET /feed?offset=40&limit=20, ORDER BY created_at DESC. created_at is not unique (bulk imports share timestamps). Redesign the pagination and write the SQL for the next-page query, handling ties correctly.
    """)),
    (H, r"Why does ^(\w+\s?)*$ hang on some inputs? Give a linear-time equivalent."),
    (H, P(r"""
        Reminder service sends "tomorrow 9:00" notifications; twice a year users get them an hour off. Find all the bugs.

        import pytz
        from datetime import datetime, timedelta
        def next_reminder(user_tz: str) -> datetime:
            tz = pytz.timezone(user_tz)
            now = datetime.now(tz)
            target = now.replace(hour=9, minute=0, second=0, microsecond=0) + timedelta(days=1)
            return target.astimezone(pytz.utc)
    """)),
    (H, "Refactor our 300-line checkout reducer into an explicit state machine without changing behaviour. How do I make sure nothing changed? Give a step-by-step plan including characterization tests."),
    (H, "Make our Python memoize decorator safe across asyncio tasks without computing the same key twice."),
    (H, "Our Go service's sync.Once init panicked once at startup (we recover it) and now every request sees a nil client. Why, and the right fix?"),
]

# ---------------------------------------------------------------------------------------------
# app_classification: classifiers, routers and moderation steps inside product pipelines.
# ---------------------------------------------------------------------------------------------

F["app_classification"] = [
    (E, P(r"""
        SYSTEM: You are an intent classifier for a banking chatbot. Allowed intents: check_balance, card_lost, transfer_money, dispute_charge, open_account, other. Reply with the intent only.
        USER MESSAGE: i think someone used my card at a gas station in ohio, i've never been there
    """)),
    (E, 'Is this comment spam? Answer "spam" or "not_spam".\nComment: "Great article!! Earn $500/day from home, DM me on telegram @fastcash_88"'),
    (E, P(r"""
        Detect the language of each line and return ISO 639-1 codes as a JSON array, same order.
        Ich habe meine Bestellung nicht erhalten.
        Où est ma commande ?
        Mi pedido llegó roto.
        注文をキャンセルしたいです。
        Waar blijft mijn pakket?
    """)),
    (E, P(r"""
        Moderation step. Policy categories: harassment, hate, sexual, self_harm, violence, none.
        Return {"category": "...", "confidence": "low|medium|high"}.
        Text: "Your recipe is garbage and honestly so is your channel. Unsubscribed."
    """)),
    (E, "Classify the urgency of this IT helpdesk message as P1, P2, P3 or P4 (P1 = business down): 'The whole sales floor lost internet about 10 minutes ago, none of the 40 laptops can reach the CRM.'"),
    (E, P(r"""
        You route incoming emails for a property management company. Queues: maintenance, rent_payments, leasing, noise_complaints, other.
        Email:
        "Hi, the radiator in unit 4B has been clanking all night and now it's not heating at all. It's 12 degrees in the apartment. Can someone come today? — Priya"
        Return the queue name only.
    """)),
    (E, 'Does this message contain personal data (PII)? Answer yes/no and list the items. "Call me back at 0176 2234 5591, I am Jonas Keller, my customer no. is DE-448120."'),
    (E, P(r"""
        App store review triage. Label each review as bug, feature_request, praise or complaint_pricing. Output one label per line.
        - Crashes every time I open the camera tab on my Pixel 7.
        - Would love a dark mode!!
        - Was free, now $9.99 a month for the same thing? no thanks
        - Best budgeting app I've used, the weekly summary is perfect.
        - Sync with Google Calendar duplicates every event.
        - Please add export to CSV.
    """)),
    (E, "Sentiment of this tweet about our airline, positive/negative/neutral: 'Flight delayed 3h but the crew handed out free snacks and kept us updated the whole time. Respect.'"),
    (E, P(r"""
        You are the triage model for a recruiting inbox. Decide if the email is from a candidate, a recruiter agency, a hiring manager, or a vendor. One word answer.

        "Hello, I'm reaching out from TalentBridge Partners. We have three pre-vetted senior backend engineers available immediately and would love to discuss our 18% placement fee structure with you."
    """)),
    (E, "Topic of this news headline? Choose: politics, business, sports, tech, health, entertainment. 'Chipmaker shares jump 12% after record data-center revenue'"),
    (E, P(r"""
        Classifica il seguente messaggio del cliente in una di queste categorie: reso, spedizione, pagamento, prodotto_difettoso. Rispondi solo con la categoria.
        "Ho pagato con PayPal ma l'ordine risulta ancora 'in attesa di pagamento' da due giorni."
    """)),
    (E, "Is the following user query a question about our product (yes) or off-topic (no)? Product: a project-management SaaS. Query: 'can I set a task to repeat every other Tuesday?'"),
    (E, P(r"""
        Extract the user's intent and slots as JSON {"intent": ..., "slots": {...}} for a food ordering assistant.
        User: "two large pepperoni pizzas and a garlic bread, deliver to 18 Mill Lane around 7:30 please"
    """)),
    (E, P(r"""
        SYSTEM PROMPT (community forum, gardening): Flag posts that are off-topic for the forum. Answer ON_TOPIC or OFF_TOPIC.

        POST: "Has anyone tried growing tomatoes in straw bales? Mine started yellowing from the bottom leaves after two weeks of heavy rain. I added some compost tea but it didn't help much. The variety is San Marzano, planted late May, and the bales were conditioned with blood meal for ten days before planting. Wondering if it's nitrogen or something fungal, pictures attached."
    """)),
    (E, "Label the tone of this support reply as friendly, neutral or curt: 'Refund processed. Allow 5-7 days.'"),
    (E, P(r"""
        Which of these search queries have purchase intent? Return the numbers.
        1. how does a heat pump work
        2. buy daikin heat pump 3.5kw
        3. heat pump vs gas boiler cost
        4. heat pump installers near me price
        5. history of refrigeration
    """)),
    (E, "Is this a valid-looking email address, yes or no: 'anna.m@@gmail..com'"),
    (E, P(r"""
        For the knowledge-base search router: does this question need (A) the billing docs, (B) the API reference, or (C) the admin guide?
        "What's the rate limit on the /v2/messages endpoint and what header tells me how many requests I have left?"
    """)),
    (E, "Mark the message as 'cancellation_risk' or 'no_risk': 'Honestly, if the export still doesn't work by Friday we're going to look at other tools.'"),
    (E, P(r"""
        You are a content labeller for a recipe app. Return the cuisine (one word) and whether the recipe is vegetarian (true/false) as JSON.

        Recipe: Pad kra pao — stir-fry minced chicken with garlic, bird's eye chilies, oyster sauce, fish sauce and a handful of holy basil; serve over jasmine rice with a crispy fried egg.
    """)),
    (E, "Kategorisiere diese Rückmeldung: Lob, Beschwerde oder Frage? 'Warum dauert die Lieferung nach Österreich eigentlich immer fünf Tage?'"),
    (E, P(r"""
        The user uploaded a document. Based on the first page text below, classify the document type as invoice, contract, resume, bank_statement or other.

        "STATEMENT OF ACCOUNT — Period 01/03/2024 to 31/03/2024. Account holder: M. Ferreira. Sort code 20-45-77. Opening balance £2,140.18. Date | Description | Paid out | Paid in | Balance ..."
    """)),
    (H, P(r"""
        You are the appeals reviewer for a social platform. Policy excerpt:
        (1) Content praising violent extremist organisations is removed.
        (2) Exception: news reporting, academic discussion and counter-speech are allowed if the framing is clear.
        (3) Satire is allowed unless a reasonable reader could take it as genuine support.
        (4) Reposting extremist propaganda media is removed even with neutral captions, unless rule 2 applies and the caption adds context.

        Post under appeal: a clip from a group's recruitment video, captioned "lol imagine falling for this 🤡 anyway the music slaps". The account is a history meme page with 80k followers; replies include both mocking comments and two users asking where to find the full video.

        Decide uphold or reinstate, cite the rules you rely on, and explain how you weighed the conflicting signals.
    """)),
    (H, P(r"""
        Health-misinformation check for a wellness app's community feed. Decide whether the post is (a) accurate, (b) misleading, or (c) false and harmful, and justify it with the current medical evidence:

        "Stopped my statin after 3 months because of muscle aches and switched to red yeast rice, which is the same thing but natural, so no side effects. My LDL is fine now. Doctors won't tell you this."
    """)),
    (H, "Our toxicity classifier flags 'I'm going to kill this presentation tomorrow' and misses 'people like you shouldn't be allowed near kids'. Propose a labelling guideline and an evaluation plan that fixes both error types without exploding false positives, including how you'd build the test set."),
    (H, P(r"""
        Label this for our fraud-review queue: legit, suspicious or fraud, and give the reasoning chain.

        Account created 2 days ago. Shipping address: a freight forwarder in Miami. Billing address: Lyon, France; card issued in Brazil. 3 orders for the same $1,299 laptop, each with a different card; two cards failed AVS, the third passed. Customer emailed support asking to change shipping to a residential address in Miami after the order shipped. Device fingerprint matches an account banned last month for chargebacks, but it is a very common iPhone model on a carrier NAT IP.
    """)),
    (H, "Two annotators disagree on 18% of our intent labels. Cohen's kappa is 0.61. Before we train the router, how should we decide which disagreements are label noise, which mean the taxonomy is wrong, and which intents to merge or split? Give a concrete procedure."),
]

# ---------------------------------------------------------------------------------------------
# customer_support: support assistants drafting replies, triaging and deciding on tickets.
# ---------------------------------------------------------------------------------------------

F["customer_support"] = [
    (E, P(r"""
        You are a support agent for Acme Cloud Storage. Be friendly and concise.
        Customer: "I forgot my password and the reset email never arrives."
        Known facts: reset emails come from no-reply@acmecloud.io and often land in spam; links expire after 30 minutes.
        Write the reply.
    """)),
    (E, P(r"""
        Fill this macro with the order data and return the final message only.
        Macro: "Hi {first_name}, your order {order_id} shipped on {ship_date} with {carrier}. Track it here: {tracking_url}"
        Data: {"first_name": "Lena", "order_id": "#48213", "ship_date": "June 3", "carrier": "DHL", "tracking_url": "https://dhl.example/t/JD0146"}
    """)),
    (E, P(r"""
        Summarise this ticket thread in 2 sentences for the next agent.

        [Customer, 09:12] My invoice for May shows 12 seats but we only have 9 users.
        [Agent Tom, 09:40] Thanks! I see 3 deactivated users still assigned to seats. Want me to remove them?
        [Customer, 10:02] Yes please, and can you refund the difference?
        [Agent Tom, 10:15] Seats removed. I've asked billing about the refund for 3 seats for May.
        [Customer, 14:30] Any update on the refund?
    """)),
    (E, "Extract the order number and the customer's email from: 'hey it's rob.dunn@fastmail.com, order 7782-XK never came, tracking hasn't moved since tuesday'"),
    (E, "Make this agent reply warmer without changing the facts: 'Your request is denied. Warranty does not cover water damage. Ticket closed.'"),
    (E, P(r"""
        Translate this support reply into Spanish (Mexico), keep the placeholders as they are:
        "Hi {name}, thanks for your patience. We've issued a replacement and you'll receive a confirmation email within 24 hours. If anything else comes up, just reply to this message."
    """)),
    (E, "Categorise the ticket: billing, technical, account, shipping or feedback. Ticket: 'the app logs me out every time I switch to another app and back, iphone 13 ios 17.4'"),
    (E, P(r"""
        You are Juniper, the assistant for Brightside Dental's booking line. Office hours Mon–Fri 8:00–17:00, Sat 9:00–13:00, closed Sunday. Answer the patient in one or two sentences.
        Patient: "are you open saturday afternoon? I can only come after 2"
    """)),
    (E, "Write a short apology for a delayed delivery, we're giving a 10% code SORRY10. Customer's name is Ahmed. Max 60 words."),
    (E, P(r"""
        Return the answer the customer needs using only the help-center article below.

        ARTICLE: Changing your plan. Go to Settings → Billing → Plan. Upgrades apply immediately and are prorated. Downgrades take effect at the start of the next billing cycle. You can't downgrade below the number of active seats; remove users first under Settings → Team.

        CUSTOMER: "I want to go from Business to Starter but it's greyed out?"
    """)),
    (E, "Rate the customer's satisfaction from 1 to 5 based on this chat closing message: 'ok whatever, I guess that works. took long enough'"),
    (E, P(r"""
        Convert the agent's internal notes into a customer-facing update (3–4 sentences, no internal jargon):
        - repro'd on v4.2.1, Android only
        - root cause: push token not refreshed after OS update
        - fix merged, ships in 4.2.2 (ETA Thu)
        - workaround: log out / log in
    """)),
    (E, P(r"""
        Hola, soy el asistente de soporte de TiendaViva. Responde al cliente en español, de forma breve y amable.
        Cliente: "¿Cuánto tarda un reembolso a tarjeta después de devolver un producto?"
        Dato interno: los reembolsos se emiten 2 días hábiles después de recibir la devolución; el banco tarda de 3 a 10 días hábiles más.
    """)),
    (E, "Suggest a ticket title (max 8 words) for: 'Since this morning none of our webhook deliveries to https://hooks.ourcrm.io succeed, dashboard shows 401 for every attempt, we didn't change anything on our side.'"),
    (E, P(r"""
        SYSTEM: You are the support copilot for Parcel+ (parcel lockers). Tone: calm, helpful, max 80 words. Never promise compensation.
        CONTEXT: Locker L-2291 (Westfield Mall) is offline since 07:40 because of a power cut at the mall. Parcels inside are safe. Engineers expect power back by 15:00. Pickup codes stay valid for 72h after the locker comes back online.
        CUSTOMER: "I'm standing in front of the locker and the screen is black. My code is 558201. I need my medication from this parcel today, what do I do??"
        Write the reply.
    """)),
    (E, "Detect whether the customer is asking for a human agent. Reply true/false. Message: 'stop sending me bot answers i want to talk to a real person'"),
    (E, "Write three quick-reply buttons (max 4 words each) for a chatbot message asking the user whether their issue is solved."),
    (E, P(r"""
        Pull the following fields from the warranty claim form text into JSON: product, serial, purchase_date, issue.
        "Product: AirPure 300 purifier. Serial AP3-0092-1187. Bought 14 Feb 2023 at Costco. Fan makes grinding noise on high setting and the display flickers."
    """)),
    (H, P(r"""
        You are a senior support agent at Voltio (e-bikes). Decide whether we must refund, and how much, then draft the reply.

        Policy:
        - 30-day return window from delivery date for a full refund, bike must have < 50 km on the odometer.
        - Days 31–60: store credit only, minus a 15% restocking fee.
        - Defects reported within 2 years are repaired or replaced, never refunded, unless the same defect is repaired twice and recurs (then full refund at any time, prorated by 10% per started year of ownership).
        - Shipping is non-refundable except in the defect-refund case.

        Facts: Order delivered 2023-03-02, price €2,400 + €90 shipping. Motor cut-outs reported 2023-05-10 (repaired), 2023-11-22 (repaired), and again today, 2024-04-18. Odometer 1,830 km. Customer demands "full refund including shipping, because you sold me a lemon."
    """)),
    (H, P(r"""
        Ticket thread (B2B, Enterprise plan, contract says 99.9% monthly uptime, credits: 10% of monthly fee below 99.9%, 25% below 99.0%, 50% below 95%; credits must be requested within 30 days; planned maintenance announced 72h ahead does not count).

        March incidents from our status page (31-day month):
        - Mar 4, 02:00–05:00: planned maintenance, announced Feb 28.
        - Mar 11, 13:20–16:05: API outage.
        - Mar 19, 09:00–09:45: degraded performance (p95 latency 4x), API up.
        - Mar 27, 22:10–Mar 28 03:40: full outage.

        Customer (monthly fee $18,000) writes on April 24: "We want the 50% credit for March, your service was down for days." Work out what they're actually owed, with the arithmetic, and draft a reply that holds the line politely.
    """)),
    (H, "Customer says she never authorised a $640 annual renewal, but our logs show she clicked 'renew' in the app. She's threatening a chargeback and mentions her 14-year-old uses her phone. What do we do, step by step, and what do we say?"),
    (H, P(r"""
        A user in Germany emails: "Under GDPR Art. 15 and 17 I demand a copy of all data you hold on me and then its deletion. Account email: t.weber@posteo.de." The email comes from a different address (tw1981@gmx.de). The account has unpaid invoices of €312 and was part of a fraud investigation last year that we reported to police. Write the internal handling plan (identity verification, deadlines, what we can and cannot delete and why) and the first reply to the user.
    """)),
    (H, P(r"""
        Read the whole thread and tell me what we actually promised this customer, because the agents contradict each other:

        [Mar 2, agent Sara] We'll upgrade you to Pro for free until your migration is done.
        [Mar 9, agent Leo] Pro trial extended to Mar 31.
        [Mar 20, customer] Migration blocked by your CSV import bug, ticket #5512.
        [Mar 22, agent Sara] Bug confirmed, fix ETA mid-April. Your Pro access stays until the fix.
        [Apr 1, system] Plan downgraded to Basic (trial expired). Card charged $49 for Pro overage.
        [Apr 3, customer] Why was I charged? You said Pro stays free.
        [Apr 4, agent Kim] Per our records your trial ended Mar 31. The charge is correct.
        [Apr 19, system] Ticket #5512 resolved.

        Decide what the customer is owed now, what went wrong internally, and draft the reply.
    """)),
    (H, "Insurance app: a policyholder's claim for hail damage was denied because 'cosmetic damage is excluded', but the adjuster's photos show cracked skylight glass and a dented gutter that now leaks. Write the reasoning for a re-review recommendation and identify which facts are still missing."),
    (H, "Our chatbot invented a 40% lifetime discount. Must we honour it in Canada?"),
    (H, P(r"""
        You are Tier-2 support for a payroll SaaS. A customer's March payroll in Ontario withheld CPP and EI correctly for 14 employees but the 15th, hired March 18 and aged 17, had CPP withheld. The customer asks whether that was wrong, how to correct it, and whether they have to amend anything with the CRA. Answer as precisely as you can and mark anything you're not sure about.
    """)),
    (H, "Escalation decision: a hospital customer reports our medication-scheduling app showed a dose at 08:00 that the nurse had already given at 07:55 — the administration record says 'pending'. One case so far, no harm. Who do we involve, what do we freeze, and what do we tell the customer in the first hour?"),
    (H, P(r"""
        Three customers in the same week report that the monthly total on their invoice doesn't match the line items:

        A: lines 49.00 + 49.00 + 12.50, tax 19%, total shown 131.49
        B: lines 29.99 x 3, discount 10%, tax 20%, total shown 97.16
        C: lines 15.00 + 15.00 + 15.00 + 15.00, tax 7.7%, total shown 64.63

        Work out, for each one, what the correct total is and what rounding or ordering rule our billing code must be using to produce the wrong number. Then tell me what to say to them.
    """)),
    (H, "A customer's tenant-wide data export has been 'processing' for 9 days; the job logs show it restarted 14 times at the same shard. They need it for a court deadline on Monday. Plan the next 72 hours."),
    (H, "Airline support bot: passenger missed connection because the first leg (LIS→FRA, TAP) was 2h late; second leg FRA→YYZ on Lufthansa, separate tickets booked via an OTA. Who is responsible for rebooking and compensation under EU261, and what should the bot tell them?"),
    (H, "Decide between refund, replacement, or escalation to the legal team for a customer whose smart-lock firmware update locked her elderly mother out overnight in winter. She mentions a hospital visit."),
]

# ---------------------------------------------------------------------------------------------
# data_cleanup: transformation steps in data pipelines and import tools.
# ---------------------------------------------------------------------------------------------

F["data_cleanup"] = [
    (E, P(r"""
        Normalise these phone numbers to E.164. All are UK numbers unless a country code is present. Return a JSON array in the same order.
        07700 900123
        +44 (0)20 7946 0958
        0161-496-0000
        +1 415 555 0132
        (0117) 496 0811
    """)),
    (E, P(r"""
        Convert to JSON array of objects:
        name,city,joined
        Marta Nowak,Kraków,2021-06-01
        Luis Ortega,Valencia,2019-11-23
        "Chen, Wei",Singapore,2022-02-14
    """)),
    (E, 'Split these full names into first_name and last_name, return CSV with a header: "Amélie Durand", "Oluwaseun Adeyemi", "Jan van der Berg", "Hiroshi Tanaka", "Mary-Kate O\'Neill"'),
    (E, "Reformat all dates to ISO 8601 (assume day-first): 03/04/2024, 12.11.2023, 7 Jan 2024, 2024/02/29, 31-12-2023"),
    (E, P(r"""
        Map each source field to our CRM schema field (first_name, last_name, email, phone, company, job_title, or SKIP). Output as "source -> target" lines.
        Source columns: FName, Surname, E-Mail Address, Mobile, Organisation, Position, Lead Score, Notes
    """)),
    (E, P(r"""
        This is OCR text from a supermarket receipt. Extract the line items as JSON [{"item": ..., "qty": ..., "price": ...}] and the total.

        FRESHMART #0412   12/05/24 18:22
        BANANAS 1.02kg @1.19/kg     1.21
        OAT MILK 1L  x2             3.98
        SOURDOUGH LOAF              3.49
        FREE RANGE EGGS 12          4.25
        DISH SOAP                   2.10
        -----------------------------
        TOTAL                      15.03
        VISA **** 4471
    """)),
    (E, "Remove duplicates from this list, keep first occurrence and original order: apple, Banana, apple, cherry, banana, Cherry, date"),
    (E, P(r"""
        Turn this YAML into TOML:

        server:
          host: 0.0.0.0
          port: 8080
        database:
          url: postgres://app@db:5432/app
          pool_size: 10
        features: [search, export]
    """)),
    (E, "Standardise these country values to ISO 3166-1 alpha-2: 'United States', 'U.K.', 'Deutschland', 'South Korea', 'Côte d'Ivoire', 'Holland'"),
    (E, P(r"""
        Clean up the product names for display: fix capitalisation, remove SKU codes in brackets, keep units. One per line.
        NIKE AIR ZOOM pegasus 40 [SKU-88123] mens
        organic green tea 20 BAGS (TEA-0021)
        samsung 55" CRYSTAL uhd tv [TV55-CU7]
        stainless steel water bottle 750ML {WB-750-SS}
    """)),
    (E, "Extract all the URLs from this text as a list: 'Docs at https://docs.example.com/v2, status on status.example.com, and the changelog lives at https://example.com/changelog#2024 — old link http://old.example.org/help is dead.'"),
    (E, P(r"""
        Flatten this nested JSON into dotted keys:
        {"user": {"id": 7, "profile": {"name": "Ava", "langs": ["en", "pt"]}}, "active": true}
    """)),
    (E, "Convert these shipping weights to kilograms, one decimal: 12 lb, 3 lb 8 oz, 150 lb, 40 oz"),
    (E, P(r"""
        The import tool received these address lines. Parse each into street, postcode and city (German format) and return a JSON array.
        Hauptstraße 12, 10115 Berlin
        Am Markt 3a, 04109 Leipzig
        Königsallee 60 F, 40212 Düsseldorf
    """)),
    (E, "Turn this pipe-delimited row into a markdown table with headers id|sku|qty|warehouse: 1|A-100|24|DUS / 2|B-220|0|HAM / 3|A-101|7|MUC"),
    (E, P(r"""
        Our form collected free-text answers for "Company size". Bucket each into 1-10, 11-50, 51-200, 201-1000, 1000+ or unknown:
        "just me", "about 30 people", "~250", "we're a startup", "5k employees", "between 11 and 50", "n/a"
    """)),
    (E, "Convert these byte counts to human-readable sizes (KiB/MiB/GiB, 1 decimal): 1536, 10485760, 3221225472, 999"),
    (E, P(r"""
        Please pretty-print this JSON with 2-space indentation and sort the keys alphabetically at every level:
        {"zip":"02139","name":"Lab B","tags":{"floor":3,"building":"E52"},"active":false}
    """)),
    (E, "Extraire les montants et les dates de ce texte en JSON : « Facture réglée le 3 mars 2024 pour 1 250,00 €, acompte de 300 € versé le 12 février 2024. »"),
    (E, P(r"""
        Fix the encoding garbage in these strings (they were UTF-8 read as Latin-1) and return the corrected text:
        CafÃ© MÃ¼ller
        SÃ£o Paulo
        naÃ¯ve rÃ©sumÃ©
    """)),
    (E, P(r"""
        SYSTEM: You are a data-entry assistant in an invoicing tool. Output must be valid JSON and nothing else.
        TASK: Convert the invoice email below into {"vendor", "invoice_number", "issue_date" (YYYY-MM-DD), "due_date" (YYYY-MM-DD), "currency", "amount_due"}.

        EMAIL:
        From: billing@northwind-logistics.com
        Subject: Invoice NW-2024-0387
        Dear customer, please find attached invoice NW-2024-0387 dated 2 April 2024 for freight services in March (14 shipments, Rotterdam–Duisburg lane). The amount of EUR 8,412.60 is payable within 30 days, i.e. by 2 May 2024, to the account shown on the invoice. For questions about individual shipments please quote the shipment reference. Kind regards, Northwind Logistics B.V., Accounts Receivable
    """)),
    (E, "Convert '1h 23m 45s', '2:05:10', '95 min' and '0.75 h' into seconds."),
    (E, "Mask the card numbers in this log line, keep the last 4 digits: 'charge ok card=4111111111111111 amt=12.00; retry card=5500 0000 0000 0004 amt=12.00'"),
    (H, P(r"""
        We're merging customer records from three systems before a CRM migration. Same person can appear in each with different data:

        shop:    {id: S-19, name: "Katarzyna Wiśniewska", email: "kasia.w@gmail.com", phone: "+48 601 222 333", updated: 2024-03-02}
        support: {id: Z-881, name: "Kasia Wisniewska", email: "k.wisniewska@firma.pl", phone: "601222333", updated: 2024-05-19}
        billing: {id: B-4410, name: "K. Wiśniewska-Nowak", email: "kasia.w@gmail.com", phone: null, vat_id: "PL5260250995", updated: 2023-11-30}

        Design matching rules (blocking, scoring, thresholds) and survivorship rules (which field wins when) for the whole 2.3M-record merge, then apply them to this example and explain every decision, including how you'd keep false merges under control.
    """)),
    (H, "Write a CSV parser in Python without the csv module that handles quoted fields, escaped quotes, embedded newlines and CRLF/LF mixes, streams files larger than RAM, and reports the line and column of malformed input. Include tests for the edge cases."),
    (H, "Our nightly job imports 40 vendor price files with inconsistent schemas (column names, units, currencies, decimal commas). Design a robust ingestion pipeline: schema inference, validation, quarantine, idempotent reruns and alerting. Be concrete."),
    (H, P(r"""
        Two exports of the same ledger disagree. Export A has 10,412 rows and sums to 1,284,330.17; export B has 10,409 rows and sums to 1,284,918.42. Known: B was exported after a currency fix on 14 rows; A includes 3 test transactions; one row in B has amount 588.25 with a swapped sign compared to A. Work out whether these facts fully explain both the row-count and the sum differences, and list what's left unexplained.
    """)),
    (H, "Infer a normalised relational schema (3NF) from this denormalised export header, with keys and foreign keys, and explain each dependency: order_id, order_date, customer_id, customer_name, customer_city, customer_country_code, country_name, product_id, product_name, category_id, category_name, unit_price, qty, line_discount, warehouse_id, warehouse_city, shipper_id, shipper_name"),
    (H, "Dedupe 5M customer rows where names are transliterated from Cyrillic and Arabic. Approach?"),
]

# ---------------------------------------------------------------------------------------------
# ecommerce_catalog: product descriptions, listings, review summaries, pricing and stock.
# ---------------------------------------------------------------------------------------------

F["ecommerce_catalog"] = [
    (E, P(r"""
        Write a product description (80–120 words, friendly, no exaggerated claims) from this record:
        {"name": "Fjord Merino Beanie", "material": "100% merino wool", "sizes": ["one size"], "colors": ["charcoal", "moss", "rust"], "care": "hand wash cold", "features": ["ribbed knit", "fold-over cuff", "itch-free"], "price_eur": 34.90}
    """)),
    (E, "SEO title under 60 characters for: stainless steel insulated water bottle, 1 litre, keeps drinks cold 24h, leak-proof lid, BPA free"),
    (E, P(r"""
        Summarise these reviews into one 'What customers say' paragraph of 2–3 sentences:
        ★★★★★ "Super comfy, I wear them all day at the hospital."
        ★★★★☆ "Great support but the left one squeaked for the first week."
        ★★☆☆☆ "Run half a size small, had to return."
        ★★★★★ "Third pair I've bought. Sole lasts about a year of daily use."
        ★★★★☆ "Comfortable, a bit hot in summer."
    """)),
    (E, P(r"""
        Extract structured attributes as JSON (brand, model, screen_size_in, storage_gb, ram_gb, color) from this listing text:
        "Brand new Lenovo IdeaPad Slim 5 — 14 inch OLED, 16GB RAM, 512GB SSD, Abyss Blue. Sealed box, UK plug."
    """)),
    (E, "Write 5 bullet points for an Amazon listing of a bamboo cutting board set (3 sizes, juice groove, non-slip feet, hand wash only)."),
    (E, "Which category does this product belong to in our taxonomy (Home > Kitchen, Home > Bath, Garden, Pets, Toys)? 'Automatic cat water fountain, 2.5L, with charcoal filter'"),
    (E, "Alt text for a product photo: a woman wearing a mustard-yellow raincoat with a hood, standing in the rain, holding a clear umbrella. Max 125 characters."),
    (E, P(r"""
        Übersetze diese Produktbeschreibung ins Englische, Ton beibehalten:
        „Unsere handgemachte Keramiktasse fasst 350 ml, ist spülmaschinenfest und liegt dank des breiten Henkels angenehm in der Hand. Jede Tasse ist ein Unikat – kleine Farbabweichungen sind gewollt."
    """)),
    (E, P(r"""
        You are the product Q&A bot on the product page. Answer using only the spec sheet; if the answer isn't there, say you don't know.
        Spec: Model TR-40 treadmill. Max user weight 120 kg. Speed 1–16 km/h. Incline 0–12%. Running area 140 x 50 cm. Folding: yes. Motor 2.5 HP continuous. Bluetooth: yes (Kinomap, Zwift). Dimensions unfolded 185 x 80 x 135 cm.
        Shopper question: "I'm 1.93m and 105kg, can I use it and does it work with Zwift?"
    """)),
    (E, "Convert these EU shoe sizes to US men's sizes: 40, 42, 44, 45"),
    (E, P(r"""
        Rewrite this listing title so it follows our style guide (Brand + Product + Key Attribute + Size/Qty, title case, no ALL CAPS, no emojis):
        "🔥🔥 BEST DEAL!!! wireless earbuds by SOUNDCORE liberty 4 NC noise cancelling 🔥"
    """)),
    (E, "Product page: list price €180, promo −35%. What sale price do we display?"),
    (E, P(r"""
        Our product feed needs a short description (max 150 chars) for Google Shopping. Product JSON:
        {"title": "Riverstone Cast Iron Skillet 26cm", "preseasoned": true, "induction": true, "oven_safe_c": 260, "weight_kg": 2.4}
    """)),
    (E, "Give me 6 product tags for a linen summer dress, sleeveless, midi length, olive green, button front."),
    (E, P(r"""
        Reviews for the "Nimbus" office chair (most recent 12). Pull out the three most mentioned pros and cons, with a count for each.

        1. "Lumbar support is great. Armrests wobble a bit."
        2. "Assembly took 15 minutes, comfy mesh back."
        3. "Wobbly armrests, otherwise fine."
        4. "Back pain gone after a week! Lumbar support is the reason."
        5. "Seat cushion flattened after 4 months."
        6. "Breathable mesh, no sweaty back in summer."
        7. "Easy assembly, clear instructions."
        8. "Armrest came loose after a month."
        9. "Mesh back is comfortable but the seat gets hard."
        10. "Good lumbar support for the price."
        11. "Instructions were clear, done in 20 min."
        12. "Seat foam feels thin."
    """)),
    (E, "Write a 'back in stock' email subject line and preview text for our bestselling linen sheets."),
    (E, "Is this review about the product or about delivery? 'Box arrived crushed and two days late, haven't opened it yet.'"),
    (E, P(r"""
        Rédige une description produit courte (3 phrases) en français pour :
        Bougie parfumée « Figue & Cèdre », cire de soja, 200 g, 45 heures de combustion, mèche en coton, fabriquée à Lyon.
    """)),
    (E, "Make a size chart table in markdown from this: S chest 92 waist 76, M chest 98 waist 82, L chest 104 waist 88, XL chest 110 waist 94 (cm)."),
    (E, P(r"""
        SYSTEM: You write concise comparison blurbs for a price-comparison site. 2 sentences, neutral.
        Product A: Kindle Paperwhite (16 GB, 6.8" 300 ppi, IPX8, warm light, USB-C, ~10 weeks battery).
        Product B: Kobo Clara 2E (16 GB, 6" 300 ppi, IPX8, ComfortLight PRO, USB-C, audiobook support, made with recycled plastic).
    """)),
    (E, "Shipping is free over €50. Cart total is €43.80. How much more does the customer need to add?"),
    (E, P(r"""
        Here's the full product record from the PIM. The merchandiser only wants to know: is this item eligible for the "Eco" badge? Rule: eco_badge requires recycled_content_pct >= 50 AND packaging == "plastic-free". Answer yes or no with the reason.

        {
          "sku": "TWL-BTH-0042",
          "title": "Cloud Cotton Bath Towel",
          "brand": "Hearth & Loom",
          "dimensions_cm": {"w": 70, "h": 140},
          "gsm": 600,
          "materials": [{"name": "recycled cotton", "pct": 55}, {"name": "organic cotton", "pct": 45}],
          "recycled_content_pct": 55,
          "packaging": "plastic-free",
          "certifications": ["OEKO-TEX Standard 100", "GRS"],
          "colors": ["sand", "slate", "white"],
          "country_of_origin": "PT",
          "care": ["machine wash 40°C", "tumble dry low"],
          "launch_date": "2024-03-01"
        }
    """)),
    (H, P(r"""
        SYSTEM: You are the pricing assistant in ShopPilot. Be quantitative and state your assumptions.
        Pricing decision for our private-label espresso beans. Last 4 price tests (each 2 weeks, similar traffic):
        price €11.90 → 1,240 bags;  €12.90 → 1,105 bags;  €13.90 → 1,010 bags;  €14.90 → 830 bags.
        Unit cost €6.20, payment + fulfilment €1.35 per bag, and we know 22% of buyers also buy a grinder accessory (avg margin €4.10) regardless of price.
        Estimate price elasticity between each step, pick the profit-maximising price among these, and say whether we should test €13.40 or €15.40 next and why.
    """)),
    (H, P(r"""
        Plan inventory reorders for SKU HX-204 (garden hose) for the next 12 weeks. Current stock 1,150 units. Lead time 5 weeks (±1). Weekly demand last year for the same weeks: 180, 210, 260, 340, 420, 460, 450, 400, 330, 260, 200, 160; this year is running 15% above last year. Service level target 95%, order in multiples of 250, warehouse cap 2,000 units for this SKU. When and how much do we order? Show the reasoning.
    """)),
    (H, P(r"""
        Checkout shows €71.36 but the customer expected €64.80. Rules in our promo engine:
        1) "SPRING15": 15% off full-price items only, not combinable with other percentage promos.
        2) Loyalty gold: 10% off the whole cart after other discounts, combinable with everything.
        3) Bundle: buy 2 T-shirts get a 3rd free (cheapest free), applied first.
        4) Free shipping over €60 after discounts, else €4.95.
        Cart: 3 T-shirts at €24 (one already marked down from €30), jeans €59 full price. Customer has gold and entered SPRING15.
        Work out the correct total and what the engine most likely did wrong.
    """)),
    (H, "We sell the same lamp on our site, Amazon (15% referral, FBA fee €5.10), and Zalando (commission 20%, returns 35% of orders with €6 handling each). COGS €22, our site's costs are €3.50 payment+€6.90 shipping. Retail €59 everywhere. Which channel earns the most per unit sold, and per unit shipped? Then tell me at what price on Zalando we'd break even with our site."),
    (H, P(r"""
        Three supplier feeds describe SKU CAM-77 differently:
        Feed A (manufacturer, updated 2024-01): sensor 24.2 MP APS-C, weight 390 g body only, battery NP-FW50, video 4K30.
        Feed B (distributor, updated 2024-04): 26 MP, 415 g incl. battery and card, battery NP-FZ100, video 4K60 (cropped).
        Feed C (marketplace scrape, 2024-05): 24.2 MP, 390 g, NP-FZ100, 4K60.
        Product page must be correct because returns for 'not as described' cost us €18 each. Decide which value to publish for each attribute, explain how you weighed sources, and list what you'd verify with the manufacturer.
    """)),
    (H, "Design a ranking function for 'Sort by: Recommended' on a fashion marketplace that balances conversion, margin, returns and new-seller exposure, and explain how you'd validate it online without hurting revenue."),
    (H, "I resi dei vestiti sono passati dal 24% al 31% dopo la nuova tabella taglie. È colpa della tabella? Come lo verifico?"),
    (H, "'Spend €100, get €20' or a flat 15% off, when our average basket is €84?"),
    (H, "AOV €80, 45% margin, 38% of orders returned at €7 each. Does a €3.95 return fee pay off if orders drop 6% and returns fall to 30%?"),
]

# ---------------------------------------------------------------------------------------------
# email_assistant: writing and email features in mail clients and office suites.
# ---------------------------------------------------------------------------------------------

F["email_assistant"] = [
    (E, P(r"""
        [Smart Compose – reply suggestion]
        Incoming email: "Hi Dana, could we move Thursday's call to Friday same time? Something came up. — Marco"
        Write a short reply accepting the change.
    """)),
    (E, P(r"""
        Shorten this email to under 80 words, keep all the facts:

        Hi team, I just wanted to quickly reach out and let you all know that, as some of you may already have heard, the office on the third floor is going to be closed for renovation starting on Monday the 14th and it will probably stay closed until around the end of the month, maybe the 30th or so if everything goes according to plan. During that time, please use the hot desks on the second floor, which you can book through the usual booking tool. If you have any personal belongings on the third floor, please take them home by Friday the 11th, because the contractors will be moving furniture. Thanks a lot for your understanding and patience! Best, Julia
    """)),
    (E, "Make this more formal for a client: 'hey, quick heads up — we're gonna be a week late on the designs, sorry!! will send them by the 20th'"),
    (E, "Suggest 3 subject lines for an email inviting customers to a free webinar on reducing AWS costs, May 22, 4pm CET."),
    (E, "Write a polite follow-up to a recruiter I interviewed with 8 days ago (Product Designer role at Loomly) who hasn't replied."),
    (E, "Decline a meeting invite politely: I'm on leave that week, suggest they loop in my colleague Priyanka Rao instead."),
    (E, P(r"""
        Turn these notes into an email to the landlord:
        - kitchen tap leaking since Sunday
        - water under the sink cabinet
        - I'm home after 5pm weekdays, anytime Saturday
        - please send plumber this week
    """)),
    (E, P(r"""
        Fix grammar and spelling only, do not change the wording otherwise:

        Dear Mr Hoffmann, thank you for you're quick response. I have attach the signed contract and the copy of my passport as requested. Regarding the start date, I would prefered the 1st of September, since my current notice period end on the 31th of August. Please let me know if their is anything else you need from my side. Kind regards, Aleksander Nowicki
    """)),
    (E, "Translate this email into German, formal Sie: 'Dear Ms Schulz, thank you for your offer. We would like to accept it and ask you to send the order confirmation to this address. Best regards, Tom Fletcher'"),
    (E, "Write an out-of-office for a parental leave from June 3 to September 27; urgent matters to finance-help@corvid.io."),
    (E, P(r"""
        You are the Tone Checker in our email client. Rate the draft as friendly, neutral or aggressive, and point to the phrase that most drives the rating.

        Draft: "As I already told you twice, the report was due yesterday. I expect it on my desk by noon, no excuses."
    """)),
    (E, "Write a thank-you email to a customer who just renewed for a third year. Short and genuine, from the account manager Bea."),
    (E, P(r"""
        Summarise this long email in 2 bullets for my inbox preview:

        Hello all, following the board meeting yesterday, I want to share a few updates. First, the budget for the Q3 marketing campaign has been approved at the reduced level of 180k instead of the requested 240k, so the team will need to cut one of the three planned channels; Mia will propose which one by next Wednesday. Second, the hiring freeze for non-engineering roles is extended until October, but the two open sales positions that already have signed offers are not affected. There was also a long discussion about the office move, but no decision was made and it will come back at the September board. Thanks, Rafael
    """)),
    (E, "Reply to a newsletter unsubscribe complaint: the person says they unsubscribed last month and still get emails. Apologise, confirm removal, mention it can take up to 48h."),
    (E, "Rewrite this sentence to sound confident rather than apologetic: 'Sorry to bother you, I was just wondering if maybe you might have had a chance to look at my proposal?'"),
    (E, "Escribe un correo breve para pedir a mi jefa el viernes libre por una cita médica; ofrezco dejar el informe terminado el jueves."),
    (E, "Write an intro email connecting Sam (founder, climate fintech) with Laura (angel investor, ex-Stripe). Both agreed to the intro."),
    (E, "Give me a one-line email signature for Noor Haddad, Senior Product Manager, Tidewell, phone +971 50 123 4567."),
    (E, P(r"""
        My draft sounds robotic. Make it friendlier, same length:
        "Per your request, attached is the Q2 report. Kindly review and revert with comments at your earliest convenience."
    """)),
    (E, "Write a reminder email that the team offsite RSVP closes Friday; the form link is go/offsite-rsvp."),
    (E, "Write an email subject for: quarterly IT maintenance, Saturday 22:00–02:00, email and VPN unavailable."),
    (E, "Turn this into an email to the whole company: new parking rules — level -2 reserved for EV charging, max 4 hours, badge needed from Monday."),
    (H, P(r"""
        Draft my reply to this thread. I need to correct what each person thinks was agreed without throwing anyone under the bus.

        [Mon, client – Grace] Confirming: you'll deliver the mobile app beta by June 7 and the web dashboard by June 21, fixed price $84k.
        [Mon, our PM – Ivan] Yes, beta June 7. Dashboard after we get the API spec.
        [Wed, our CEO – me, forwarded] Grace, as discussed on the phone: $84k covers the app; the dashboard is a separate SOW, est. $26k.
        [Thu, client – Grace] Great, so $84k total with both by June 21 then?
        [Fri, their CTO – Omar] API spec will be ready June 14 at the earliest.
        [Fri, Ivan] No problem, we'll still hit June 21 for everything.

        Dashboard work takes 3 weeks after the spec arrives.
    """)),
    (H, "Write the email announcing a 12% layoff to staff in the US, Germany and India, where local consultation rules differ. What can the global email say on day one and what must it not say yet? Draft it and list the legal checkpoints per country."),
    (H, P(r"""
        I'm negotiating a vendor renewal by email. Their proposal: 3-year term, 9% annual uplift, 60-day payment terms removed (net 15), auto-renew. My constraints: max 4% uplift, keep net 60 or get at least 3% discount for net 15, 1-year term preferred but 2 years OK if uplift capped at 3%, no auto-renew, and I'd trade a public case study for concessions. Our usage grew 40% this year, and a competitor quoted 18% less for a comparable product but migration would take 4 months. Draft the counter-proposal email and explain the sequencing of concessions.
    """)),
    (H, "UK: employee reports religious harassment, wants it 'off the record'. Must I act?"),
    (H, "Write the customer email for our data breach: 3,200 users' hashed passwords (bcrypt) and emails exposed, no payment data, discovered 5 days ago, users in the EU and California. It needs to satisfy GDPR Art. 34 and California notice requirements — say which elements are mandatory and draft it."),
    (H, P(r"""
        Combine these three email threads into a single status email for the steering committee. The threads contradict each other on the go-live date and on whether SSO is in scope; figure out which statement is the latest authoritative one and flag the rest.

        Thread 1 (Apr 2, PMO): Go-live May 15. SSO out of scope for phase 1.
        Thread 2 (Apr 9, CIO to vendor): SSO is mandatory for go-live, security won't sign off otherwise.
        Thread 3 (Apr 11, vendor): With SSO in scope, earliest go-live is June 3. Without SSO, May 15 holds.
        Thread 2 follow-up (Apr 12, CISO): Agreed exception — go-live May 15 for the 40-user pilot without SSO, full rollout only after SSO.
        Thread 1 follow-up (Apr 16, PMO): Go-live remains May 15 for all 600 users.
    """)),
    (H, "Reply to an enterprise customer threatening to sue over lost data. What can I safely say?"),
]

# ---------------------------------------------------------------------------------------------
# finance_helper: personal-finance apps, bookkeeping tools and investing assistants.
# ---------------------------------------------------------------------------------------------

F["finance_helper"] = [
    (E, P(r"""
        Categorise each transaction for the budgeting app (groceries, dining, transport, utilities, subscriptions, shopping, other). Return "merchant: category" lines.
        UBER *TRIP 14.20
        NETFLIX.COM 15.49
        TESCO STORES 3341 62.18
        THAMES WATER 38.00
        PRET A MANGER 7.85
        AMZN Mktp UK 23.99
        TFL TRAVEL CH 8.10
    """)),
    (E, "What's the difference between APR and APY? Two sentences for a tooltip."),
    (E, "Convert 2,450 USD to EUR at 0.9213. Two decimals."),
    (E, "Simple interest on $5,000 at 4% per year for 1 year?"),
    (E, P(r"""
        From this statement snippet, what's the total of the card payments (debits) only?
        03/05 Coffee House     -4.50
        03/05 Salary         +2,850.00
        04/05 Grocery Mart    -56.20
        05/05 Gym Monthly     -35.00
        06/05 Refund Shoes    +49.99
        07/05 Petrol Station  -61.30
    """)),
    (E, "Explain what an index fund is for a first-time investor screen in our app, 50 words max."),
    (E, "Rewrite this bank notification to be clearer: 'Txn declined insufficient avail bal pls top up to cont.'"),
    (E, P(r"""
        Extract the fields from this invoice text for bookkeeping as JSON (supplier, date, net, vat, gross, vat_rate):
        "Invoice 2024-117 from Studio Krause GmbH, 18.03.2024. Web design services. Net 2,000.00 EUR, VAT 19% 380.00 EUR, total 2,380.00 EUR."
    """)),
    (E, "What does 'ex-dividend date' mean? One short paragraph."),
    (E, "¿Qué es un fondo de emergencia y cuántos meses de gastos se suelen recomendar? Respuesta corta para la app."),
    (E, "Budget split: income $4,200/month. Using the 50/30/20 rule, how much goes to each bucket?"),
    (E, P(r"""
        Write the push notification text (max 90 characters) for this event:
        {"event": "bill_due", "payee": "Verizon", "amount": 84.99, "due_in_days": 2}
    """)),
    (E, "Tag this expense as deductible business expense or personal for a freelancer: 'Adobe Creative Cloud annual plan, used for client work'."),
    (H, "I'm 34, earning $145k in California, with $60k in a traditional 401(k) and $20k in a taxable brokerage. Should I do Roth conversions, contribute to Roth 401(k) instead, or neither? Walk through the trade-offs with numbers and the assumptions you're making."),
    (H, P(r"""
        You are the advisor assistant in HomeLoan Hub. Show the calculations in a table.
        Mortgage refinance check: balance $412,000, current rate 7.1%, 27 years left. New offer: 6.2% fixed, 30 years, closing costs $9,800 rolled into the loan. Alternatively 6.0% 20-year with $11,500 closing paid in cash. We plan to stay 6–8 years. Compare monthly payments, break-even months, and total interest over 7 years for staying vs each option.
    """)),
    (H, "Value a small SaaS business: ARR $1.8M growing 35%, net revenue retention 108%, gross margin 78%, EBITDA -5%, churn 1.2% monthly, founder-led sales. Give a valuation range with a method and explain what would move it up or down."),
    (H, "I sold 100 NVDA shares bought in three lots (40 @ $220 in 2021, 30 @ $410 in 2023, 30 @ $480 in 2023) at $900 in March 2024. Under FIFO vs specific identification, what are my short- and long-term gains, and which lots should I have sold to minimise 2024 tax if I'm in the 24% bracket?"),
    (H, "Explain the max loss, max gain and breakeven points of an iron condor on SPY: sell 500P/540C, buy 490P/550C, net credit $3.10, and what happens if SPY closes at 545 at expiry."),
    (H, P(r"""
        Build a 3-statement check for my startup. I have: revenue $120k/month growing 6% monthly, COGS 30%, opex $210k/month growing 2% monthly, we collect cash 45 days after invoicing, pay suppliers in 30 days, cash today $1.4M. When do we run out of cash, month by month, and how much does moving collection to 15 days extend runway?
    """)),
    (H, "Ich bin Freiberufler in Deutschland (Umsatz 2023: 28.000 €). Lohnt sich für 2024 der Verzicht auf die Kleinunternehmerregelung, wenn meine Kunden überwiegend vorsteuerabzugsberechtigte Firmen sind und ich 2024 etwa 9.000 € in Hardware investieren will? Bitte mit Rechnung und den relevanten Fristen."),
    (E, "Pay off a 5.9% car loan or invest, if I'm not getting my full 401(k) match?"),
    (H, P(r"""
        Our company has a EUR-denominated revenue stream of about €2M per quarter and USD costs. Treasury proposes hedging 80% of the next 4 quarters with forwards. The CFO prefers options to keep upside. EUR/USD spot 1.085, 12-month forward 1.097, an at-the-money 12-month EUR put costs 2.1% of notional. Compare the strategies under EUR/USD at 1.00, 1.085 and 1.18 at each quarter end, and recommend.
    """)),
    (H, "Reconcile: the bank shows €18,442.10 at month end; the ledger shows €17,906.35. Outstanding cheques €1,210.00, deposit in transit €640.75, bank fees not yet booked €35.50, one customer payment of €410.00 booked twice. Does it reconcile? If not, what's the unexplained difference?"),
    (H, "Explain why my portfolio's time-weighted return was +9% but my money-weighted return was -2% last year, with a numerical example that reproduces roughly those figures."),
    (H, "Should our 12-person bakery lease or buy a €85,000 oven? Bank loan 7% over 5 years, lease €1,750/month for 5 years with €1 buyout, 25% tax rate, straight-line depreciation over 8 years, discount rate 9%. Compute the after-tax NPV of both."),
    (H, "Exercise 20k ISOs at a $1.50 strike with the 409A at $12 — how big is the AMT hit?"),
    (H, "My wife and I (UK) have £45k and £110k salaries, two kids under 5. How do we reduce the high-income child benefit charge and childcare costs using salary sacrifice? Run the numbers for 2024/25."),
    (H, "Debt avalanche vs snowball for: card A $3,200 at 27%, card B $900 at 19%, store card $450 at 29%, student loan $18,000 at 5.5%; $800/month to spare. Simulate both and report months to debt-free and total interest."),
    (H, "Compute the IRR of this rental: buy £240k, 25% deposit, 5.2% interest-only mortgage, rent £1,350/month, 8% voids+management, £1,800/year maintenance, sell after 10 years at 3% annual appreciation with 1.5% selling costs, ignore tax."),
    (H, "Can you check whether our SaaS revenue recognition is right under ASC 606: annual upfront contract $120k signed Sept 15, includes onboarding services valued at $15k delivered over the first 2 months and a 3-month free extension if onboarding slips."),
    (H, "Roth or traditional 401(k) if I plan to retire in Portugal?"),
    (H, "Is a 4% withdrawal rate safe for a 35-year retirement at today's valuations?"),
    (H, "US RSUs vested after I moved to London halfway through the vesting period. What do I owe HMRC and the IRS?"),
]

# ---------------------------------------------------------------------------------------------
# health_fitness: fitness trackers, nutrition apps, symptom checkers and patient portals.
# ---------------------------------------------------------------------------------------------

F["health_fitness"] = [
    (E, "Convert 72.5 kg to pounds for the profile screen, one decimal."),
    (E, "A meal has 32 g protein, 45 g carbs and 14 g fat. How many calories is that, using 4/4/9?"),
    (E, P(r"""
        Summarise this week's workout log in one encouraging sentence for the weekly recap card:
        Mon: 5 km run, 28:40
        Wed: upper body strength, 45 min
        Thu: yoga, 30 min
        Sat: 8 km run, 47:10
        Sun: rest
    """)),
    (E, "Write 5 different hydration reminder notifications, each under 60 characters, playful but not cheesy."),
    (E, "What is VO2 max? Explain for the app's 'learn' tab in 3 sentences."),
    (E, "List 6 high-protein vegetarian breakfast ideas, one line each."),
    (E, "Convert a 5:30 min/km running pace to min/mile."),
    (E, P(r"""
        You are the coach voice in a running app. Rewrite this plan line to sound motivating, max 25 words:
        "Intervals: 6 x 400m @ 5k pace, 90s jog recovery."
    """)),
    (E, P(r"""
        Extract the medication schedule from the patient's message into JSON [{"drug", "dose", "times"}]:
        "I take metformin 500mg with breakfast and dinner, atorvastatin 20mg at bedtime, and vitamin D 1000 IU in the morning."
    """)),
    (E, "My step goal is 10,000 and I'm at 6,340. How many more steps?"),
    (E, "Traduis en français pour l'appli : « Great job! You hit your sleep goal 5 nights this week. »"),
    (E, P(r"""
        SYSTEM: You are the friendly assistant in SleepWell. Do not give medical advice; for medical questions suggest seeing a doctor.
        USER: how long should a nap be so i don't wake up groggy? i have 40 min at lunch
    """)),
    (E, P(r"""
        Turn this recipe into a shopping list grouped by aisle (produce, dairy, pantry):
        Greek chickpea salad: 1 can chickpeas, 1 cucumber, 200 g cherry tomatoes, 1/2 red onion, 100 g feta, kalamata olives, olive oil, red wine vinegar, dried oregano, salt, pepper.
    """)),
    (E, "BMI for 1.68 m and 61 kg? Just the number, one decimal."),
    (E, P(r"""
        The patient portal received this message. Classify it as: appointment_request, prescription_refill, test_results_question, billing, or urgent_symptom. Reply with the label only.

        "Hi, I've been on lisinopril for a year and I have 3 pills left. My pharmacy said they need a new authorisation from Dr. Alvarez. Can you send it to CVS on Main St? Thank you, Gloria Peña, DOB 04/12/1961"
    """)),
    (H, "On lithium for years; my GP just started ramipril for blood pressure. Anything to watch?"),
    (H, P(r"""
        SYSTEM: You are the triage engine of CareNow. Output the triage level first, then the reasoning.
        Symptom checker input from a 58-year-old man: "For the last hour I've had pressure in my upper stomach, feel sweaty and a bit sick. Thought it was indigestion but antacids didn't help. I have diabetes and smoke." Produce the triage level (self-care / GP within days / urgent care today / emergency now) with reasoning and what the app should tell him.
    """)),
    (H, "Type 1 diabetic, ratio 1:10, correction factor 1 unit per 2.5 mmol/L above 6, currently 14.2 mmol/L before a 75 g carb dinner, but I ran 10 km two hours ago and have 1.5 units still active. How much insulin, and what's the post-exercise risk I should plan for?"),
    (H, P(r"""
        Build a 16-week marathon plan for a runner with these constraints: current long run 16 km, 35–40 km per week; target 3:45; can run only Tue, Thu, Sat, Sun; Thursday max 45 minutes; had Achilles tendinopathy last year so no more than one speed session per week and no hill repeats; a half marathon race is fixed in week 9; travelling without running in week 12. Give the weekly structure and explain the progression and tapering logic.
    """)),
    (H, P(r"""
        Explain these results to the patient in plain language and say which need follow-up, how urgently, and why. Patient: man, 67, back pain and constant thirst for 2 months.
        Calcium 2.9 mmol/L (2.2–2.6), total protein 92 g/L (60–80), albumin 34 g/L (35–50), creatinine 148 µmol/L (60–110), Hb 10.4 g/dL (13–17), ESR 78 mm/h (< 20).
    """)),
    (H, "Is ibuprofen OK at 30 weeks pregnant for a bad back? My friend says it's fine."),
    (H, "Child weighs 14 kg, has fever. Paracetamol 120 mg/5 mL suspension and ibuprofen 100 mg/5 mL are in the cupboard. How many mL of each per dose, how often, the daily maximums, and can they be alternated safely?"),
    (H, "I lift 4x/week and want to cut from 86 kg to 80 kg over 12 weeks without losing strength. Design my calorie and macro targets and how to adjust them week to week when the scale stalls."),
    (H, "Mi reloj marcó 'posible fibrilación auricular' dos veces esta semana. 41 años, sin síntomas. ¿Me preocupo?"),
    (H, P(r"""
        A physiotherapy app needs to personalise a return-to-running programme after an ACL reconstruction (patellar tendon graft), 16 weeks post-op, quad strength symmetry 72%, hop tests not yet done, occasional knee effusion after long walks. The patient wants to play five-a-side football again in 3 months. What criteria gate each stage, and what should the programme say right now?
    """)),
    (H, "I take 5 g creatine daily and my eGFR came back 68. Is my kidney function low?"),
    (H, "Vater, 79: Ramipril, Spironolacton, seit gestern Ibuprofen, heute verwirrt. Gefährlich?"),
    (H, "Calculate my training zones from this lab test: VT1 at HR 142 / 4:55 min/km, VT2 at HR 168 / 4:05 min/km, max HR 188. Then tell me how a 5-zone model maps onto these thresholds and how to structure polarized training for 8 hours a week."),
    (H, "toddler swallowed a button battery 20 min ago, seems totally fine. what now"),
    (H, "Chest tightness only when I run in the cold. 52, ex-smoker. Asthma or heart?"),
]

# ---------------------------------------------------------------------------------------------
# homework_math: tutoring apps, from one-step school exercises to multi-step contest problems.
# ---------------------------------------------------------------------------------------------

F["homework_math"] = [
    (E, "Solve for x: 3x + 5 = 20. Show the steps."),
    (E, "Area of a circle with radius 4 cm? Give it in terms of π and as a decimal."),
    (E, "simplify 18/24"),
    (E, "What is 15% of 240?"),
    (E, "Find the slope of the line through (2, 3) and (6, 11)."),
    (E, "derivative of x^3 - 4x"),
    (E, "Find the mean of 4, 8, 15, 16, 23, 42."),
    (E, "Write 3/8 as a decimal and as a percent."),
    (E, P(r"""
        You are Mathly, a patient tutor for 5th graders. Use simple words and one everyday example.
        Student: "why is 0.5 the same as 1/2??"
    """)),
    (E, "Which is bigger, 2/3 or 5/8? Explain it so a 6th grader gets it."),
    (E, "Expand (x + 3)(x − 2)."),
    (E, "Perimeter of a rectangle that is 7 m by 4.5 m?"),
    (E, "Resuelve: 2(x − 4) = 10"),
    (E, "Write 0.0045 in scientific notation."),
    (E, "A right triangle has legs 6 and 8. How long is the hypotenuse?"),
    (E, P(r"""
        SYSTEM: You are HomeworkHelper, a tutoring assistant for grades 2–4. Rules: never just give the final answer first; start with a hint, then show the working, then the answer. Keep sentences short. Use the student's name. If the student seems upset, reassure them. Do not mention that you are an AI. Parents can see all messages. If a question is not about school work, gently steer back.
        STUDENT (Maya, grade 3): "worksheet question 4 says a pencil costs 35 cents. how much do 6 pencils cost. i dont get it"
    """)),
    (E, "Berechne den Flächeninhalt eines Dreiecks mit Grundseite 10 cm und Höhe 6 cm."),
    (H, "How many positive integers below 1000 are divisible by 3 but by neither 7 nor 11?"),
    (H, "A box has 4 green and 9 yellow tokens; 3 are drawn without replacement. Given that at least one is green, what is the probability that at least two are green?"),
    (H, "10 caramelos idénticos entre 4 niños: cada uno recibe al menos 1 y nadie más de 4. ¿De cuántas maneras?"),
    (H, P(r"""
        A pool holds 60,000 L. Pump A alone fills it in 10 h, pump B alone in 15 h, and the open drain alone empties a full pool in 20 h. Starting empty at 8:00 with only A running, B is switched on at 9:30, and from 11:00 someone leaves the drain open. At what time is the pool full?
    """)),
    (H, "Prove that n^5 − n is divisible by 30 for every positive integer n."),
    (H, "How many ordered pairs of positive integers (a, b) satisfy 1/a + 1/b = 1/12?"),
    (H, "Triangle with sides 7, 8 and 9: find the length of the median to the side of length 8, and the circumradius. Exact values."),
    (H, "Find the volume of the solid formed by rotating the region between y = x² and y = 2x about the line y = −1."),
    (H, "A 5 m ladder leans on a wall. The bottom slides away at 0.3 m/s. When the bottom is 3 m from the wall, how fast is the angle between the ladder and the ground changing?"),
    (H, "How many 4-letter strings over A–F contain at least one A and at least one B?"),
    (H, P(r"""
        You are StatsTutor, a university statistics tutor. Show every step.
        Stats homework: a sample of 18 bags of flour has mean weight 1,012.3 g and standard deviation 8.1 g. The label says 1,000 g. At the 5% level, two-sided, is the mean weight different from the label? Give the test statistic, the critical value, the p-value range and a 95% confidence interval.
    """)),
    (H, "Sum of all n ≤ 100 with gcd(n, 100) = 1?"),
    (H, "Find the largest rectangle (sides parallel to the axes) inscribed in the ellipse x²/9 + y²/4 = 1 and prove it is the maximum."),
    (H, "Diagonalise A = [[4, 1], [2, 3]] and use it to compute A^10 exactly."),
    (H, "What's the probability that a 5-card poker hand contains exactly two pairs? Show the counting."),
    (H, "Quantos inteiros n entre 1 e 100 tornam n² − 2n + 3 divisível por 7? Justifique."),
    (H, "Find all primes p such that p² + 2 is also prime, and prove there are no others."),
    (H, "Find all integer solutions of x² − 3y² = 1 with 0 < x < 1000."),
]

# ---------------------------------------------------------------------------------------------
# homework_subjects: tutoring apps for science, languages, history and economics.
# ---------------------------------------------------------------------------------------------

F["homework_subjects"] = [
    (E, "Explain the water cycle to a 7th grader in 4 sentences."),
    (E, "Balance this equation: H2 + O2 → H2O"),
    (E, "In the sentence 'The tired dog slept under the old table', what is the subject and what is the verb?"),
    (E, "Conjugate 'aller' in the present tense, all persons."),
    (E, P(r"""
        Summarise this textbook paragraph in 2 sentences for my revision notes:

        The Treaty of Versailles, signed in June 1919, formally ended the First World War between Germany and the Allied Powers. It required Germany to accept responsibility for the war, to disarm, to make substantial territorial concessions, and to pay reparations. Many historians argue that the harsh terms created resentment in Germany and contributed to economic instability in the 1920s, though others stress that the treaty was less severe than it could have been and that later policy choices mattered more.
    """)),
    (E, "What's the difference between mitosis and meiosis? A short table please."),
    (E, "Give me a thesis statement for an essay arguing that school uniforms should be optional."),
    (E, "What are the three states of matter and one example of each?"),
    (E, P(r"""
        You are StudyBuddy, an AI tutor for high-school English. Keep answers under 100 words.
        Student: "what's the difference between a metaphor and a simile, with an example from romeo and juliet if possible"
    """)),
    (E, "Make 5 flashcards (question | answer) from this: The mitochondria produce ATP through cellular respiration. The nucleus contains DNA. Ribosomes build proteins. The cell membrane controls what enters and leaves. Chloroplasts carry out photosynthesis in plant cells."),
    (E, "Convert 5 km to miles for my geography worksheet."),
    (E, "Who was the first emperor of Rome and roughly when did he rule?"),
    (E, "Traduce al inglés: 'Mañana tenemos examen de biología y todavía no he estudiado nada.'"),
    (E, "Name the parts of a flower and what each does, as a bulleted list."),
    (E, P(r"""
        Here is my paragraph for English class. Only correct the punctuation; don't change any words.

        my grandmother who grew up in a small village in Sicily always said that food is the language of love she would cook for hours on Sundays and the whole family twenty people or more would squeeze around her table we never talked about feelings but we always knew we were loved because of the way she watched us eat
    """)),
    (E, "What's the supply and demand effect of a frost destroying half the orange harvest? Two sentences, intro econ level."),
    (H, "Stoichiometry: 12.0 g of magnesium reacts with 200 mL of 1.50 M HCl. Which reactant is limiting, what volume of H2 forms at STP, and what mass of the excess reactant remains?"),
    (H, "A ball is kicked at 18 m/s at 35° from the top of a 12 m cliff. Ignoring air resistance, how far from the base of the cliff does it land, and what is its speed and angle at impact?"),
    (H, P(r"""
        Genetics: in a plant, tall (T) is dominant to short (t), and purple flowers (P) dominant to white (p). The genes are linked, 18 map units apart. A plant heterozygous for both, with TP on one chromosome and tp on the other, is test-crossed. Of 800 offspring, predict how many fall in each phenotype class, and explain what changes if the parent has Tp and tP instead.
    """)),
    (H, P(r"""
        History coursework: two sources disagree about the 1932–33 famine in Ukraine.
        Source A: a 1933 New York Times article by Walter Duranty: "There is no actual starvation, but there is widespread mortality from diseases due to malnutrition."
        Source B: a 1986 memoir by a former village teacher: "Every day carts collected the bodies; the brigades took even the seed grain."
        Evaluate the provenance, purpose and reliability of each, and explain how a historian would use both to answer whether the famine was the result of deliberate policy.
    """)),
    (H, "Draw the mechanism for the acid-catalysed dehydration of 2-methylcyclohexanol and explain which alkene is the major product and why, including any rearrangement."),
    (H, "Tax incidence: demand P = 120 − 2Q, supply P = 20 + 3Q. A $10 per-unit tax is imposed on sellers. Find the new equilibrium, the price buyers pay and sellers receive, each side's share of the tax burden, and the deadweight loss."),
    (E, "Why does the Coriolis effect deflect moving air to the right in the northern hemisphere? A-level answer, not just 'because the Earth spins'."),
    (H, "An RC circuit: 10 µF capacitor charged to 12 V discharges through a 4.7 kΩ resistor in parallel with a second 4.7 kΩ resistor that is switched in after 20 ms. What's the voltage at 50 ms?"),
    (H, "Compare how Orwell's 1984 and Huxley's Brave New World imagine control through information, and argue which vision better describes social media today. I need a structured essay plan with evidence from both texts."),
    (H, "Given ΔH = −92 kJ/mol and ΔS = −199 J/(mol·K) for N2 + 3H2 ⇌ 2NH3, find the temperature above which the reaction is no longer spontaneous, and explain why the Haber process still runs at ~450 °C."),
    (E, "Why do we see lightning before we hear the thunder, and roughly how far away is a strike if the gap is 6 seconds?"),
    (H, "Hardy–Weinberg problem: in a population of 2,500, 16% show the recessive phenotype. How many are heterozygous carriers? If selection then removes half of the recessive homozygotes each generation, what's q after two generations?"),
    (H, "pH after mixing equal volumes of 0.010 M acetic acid and 0.005 M NaOH? Ka = 1.8×10⁻⁵"),
]

# ---------------------------------------------------------------------------------------------
# hr_recruiting: applicant tracking systems, HR helpdesks and people-analytics tools.
# ---------------------------------------------------------------------------------------------

F["hr_recruiting"] = [
    (E, P(r"""
        Write a job ad (max 200 words) from these notes:
        Role: Customer Success Manager, remote (EU time zones). 3+ yrs SaaS CS experience. Owns ~40 mid-market accounts, renewals and onboarding. Tools: HubSpot, Intercom. Salary €55–65k + 10% bonus. Company: Pebble Analytics, 60 people, B2B analytics for retailers.
    """)),
    (E, P(r"""
        Parse this resume text into JSON with keys name, email, current_title, years_experience, skills (list), education.

        JORGE ALVES — jorge.alves@proton.me — Lisbon
        Senior Data Engineer, Farfetch (2020–present): built Spark pipelines on Databricks, led migration to Delta Lake.
        Data Engineer, OutSystems (2017–2020): Airflow, Python, PostgreSQL.
        BSc Computer Science, Universidade de Coimbra, 2017.
        Skills: Python, Scala, Spark, Airflow, dbt, AWS, Terraform.
    """)),
    (E, "Write a kind rejection email for a candidate who reached the final round for a UX Researcher role; we chose someone with more B2B experience. Invite them to apply again."),
    (E, "Give 6 behavioural interview questions for a warehouse shift supervisor."),
    (E, P(r"""
        Summarise the interview panel feedback in 3 bullets (strengths, concerns, recommendation):
        - Anna (HM): strong system design, explained trade-offs clearly. Hire.
        - Raj: coding solid, a bit slow on the second problem. Lean hire.
        - Chloe: great collaboration examples; unsure about experience with on-call. Hire.
        - Ben: communication good, wants more depth on databases. Lean hire.
    """)),
    (E, "$32 an hour, 40 hours a week, 52 weeks. What's the annual salary?"),
    (E, P(r"""
        You are the HR helpdesk bot for Northbeam. Answer only from the policy text. If it isn't covered, say so and point to hr@northbeam.com.
        POLICY: Full-time employees get 25 days of paid vacation per calendar year, accrued monthly. Up to 5 unused days carry over to March 31 of the next year. Part-time employees accrue pro rata. Vacation requests of more than 10 consecutive working days need manager approval 4 weeks in advance.
        EMPLOYEE: "can I carry over 8 days into next year?"
    """)),
    (E, "Rewrite this job title to be gender-neutral and clear: 'Rockstar Salesman Ninja'"),
    (E, "Create an onboarding checklist for a new remote software engineer's first week, 8–10 items."),
    (E, P(r"""
        Extract the candidate's availability and notice period from this email:
        "Thanks for the offer call! I'm excited. My current contract has a one-month notice period, and I'm away on a family trip from July 8 to July 19, so the earliest I could start would be Monday July 22."
    """)),
    (E, "Write a LinkedIn post announcing we're hiring 3 nurses for our new clinic in Leeds, warm tone, 3 hashtags."),
    (E, P(r"""
        Screen these applications against the must-haves (valid forklift licence AND available for night shifts). Return the names that pass.
        1. Dariusz — forklift licence (exp. 2026), nights OK
        2. Helen — no licence yet, nights OK
        3. Kwame — forklift licence (exp. 2025), days only
        4. Sofia — forklift licence (exp. 2027), nights and weekends OK
    """)),
    (E, "Escribe un mensaje de bienvenida para el canal de Slack del equipo para Lucía, nueva diseñadora que empieza el lunes."),
    (E, "Draft a reference-check request email to a former manager of candidate Tom Bright, asking for a 15-minute call this week."),
    (E, "What does 'exempt vs non-exempt' mean for a US employee? Two sentences for the HR FAQ."),
    (E, P(r"""
        Format this offer into the standard offer-letter summary block (Position / Start date / Salary / Bonus / Equity / Manager):
        offer for Mei Lin, senior PM, starts Sept 2, 148k base, 15% target bonus, 6,000 RSUs over 4 years with a 1-year cliff, reports to Daniel Ortiz
    """)),
    (H, P(r"""
        People-analytics question: women in our engineering org earn on average 11% less than men. After controlling for level, the gap is 2.1%; after controlling for level and tenure, 0.4%; but women are promoted from L3 to L4 after 31 months on average vs 22 for men. Leadership says "no pay gap after controls". Write the analysis for the exec team: what the numbers do and don't show, which controls are themselves potentially biased, and what you would analyse next.
    """)),
    (H, "12-month non-compete for sales staff: enforceable in CA, TX and MA?"),
    (H, P(r"""
        We plan to close our Columbus distribution centre (210 employees) and move 60 roles to Indianapolis. Another 45 employees at the Columbus office (same campus, separate building) are part-time. Does the federal WARN Act apply, how much notice is needed, does Ohio have a mini-WARN law, and what happens to the 60 who are offered relocation but decline?
    """)),
    (H, "Our candidate is on an F-1 OPT and we'll register her for the H-1B lottery in March. Her OPT ends June 10. If selected, can she keep working through the summer until the H-1B starts on Oct 1? Explain cap-gap precisely, including what happens if she's not selected."),
    (H, "California employee worked 9, 11, 8, 13 and 6 hours Monday to Friday and 7 hours on Saturday, $28/hour. Compute regular, overtime and double-time hours and total gross pay under California rules."),
    (H, P(r"""
        SYSTEM: You are the HR policy copilot for Labcore Inc. (US). Be practical; cite the ADA where relevant.
        An employee with ADHD asks for a fully remote arrangement as a disability accommodation. The role is a lab technician; 70% of tasks need the physical lab. Her manager says "no, rules are rules". We're in the US, 400 employees. Walk through the interactive process, what alternatives are reasonable, what documentation we may request, and how to document the decision to minimise risk.
    """)),
    (H, "Design a compensation band structure for a 150-person startup moving from ad-hoc offers to levels: how many levels, band width and overlap, geo-differentials for 5 countries, and how to handle the 20 people who'll fall outside their new band."),
    (H, P(r"""
        Two hiring panel members strongly disagree about a finalist:
        - Interviewer A (score 2/5): "Couldn't explain her past project's architecture in detail; seemed unprepared."
        - Interviewer B (score 5/5): "Exceptional; she designed the architecture at a startup where she was the sole engineer, so she had to simplify everything."
        - Interviewer C (3/5): "Good, but a 'culture fit' concern — very quiet."
        - Work sample: top 10% of all candidates.
        Help the hiring manager decide. Consider bias in each piece of feedback and what additional evidence would resolve it.
    """)),
    (H, "Kündigung nach 9 Monaten Krankheit: welche Schritte nach KSchG und mit dem Betriebsrat?"),
    (H, "We're restructuring 3 teams (34 people) into 2. Propose the selection criteria for the 6 redundancies in the UK that will survive an unfair dismissal claim, the consultation timeline, and how to handle two people currently on maternity leave."),
    (H, "Why might structured interviews predict performance better than unstructured ones, and how big is the difference in the meta-analytic literature? Include the main caveats about range restriction and the 2022 re-analysis."),
    (H, "Build a headcount plan: engineering needs to go from 42 to 70 by year-end, average time-to-hire 68 days, offer acceptance 70%, 8% annual attrition, recruiters can each run 12 open reqs. How many recruiters and how many reqs per month?"),
    (H, "Can we cut pay for remote staff who move to a cheaper US state? Legal risks?"),
    (H, "4-day week at 10 hours a day for our hourly staff in California — what does it do to overtime?"),
]

# ---------------------------------------------------------------------------------------------
# legal_helper: contract tools, legal-aid chatbots and compliance assistants.
# ---------------------------------------------------------------------------------------------

F["legal_helper"] = [
    (E, "What does 'indemnify' mean in a contract? Plain English, two sentences."),
    (E, P(r"""
        Extract the parties, effective date and governing law from this contract preamble as JSON:
        "This Master Services Agreement (the 'Agreement') is entered into as of 1 July 2024 by and between Harbor Lane Software Ltd., a company registered in England and Wales (company no. 10874412), and Quill & Ferry Inc., a Delaware corporation. This Agreement shall be governed by the laws of England and Wales."
    """)),
    (E, P(r"""
        Summarise this clause in one plain-English sentence for the contract dashboard:
        "Either Party may terminate this Agreement for convenience upon ninety (90) days' prior written notice to the other Party, provided that any fees paid in advance for the then-current Subscription Term shall be non-refundable."
    """)),
    (E, "Translate this clause into French: 'The Supplier shall deliver the Goods to the Buyer's warehouse no later than thirty (30) days after receipt of the purchase order.'"),
    (E, "List the documents I usually need to bring to a notary to sign a power of attorney in Spain, as a checklist."),
    (E, P(r"""
        You are ClauseFinder inside a contract management tool. Return the section number that deals with confidentiality, nothing else.
        §1 Definitions §2 Scope of Services §3 Fees and Payment §4 Term and Termination §5 Confidential Information §6 Intellectual Property §7 Limitation of Liability §8 Miscellaneous
    """)),
    (E, "What's the difference between a trademark and a copyright? Short answer for a small-business FAQ."),
    (E, P(r"""
        Find every date and deadline in this notice and list them with what each one is for:
        "Notice of Default. You failed to pay the instalment due on 15 March 2024. You must cure this default by 14 April 2024. If payment is not received by then, the lender may accelerate the loan and commence proceedings on or after 30 April 2024. Any objection must be filed in writing within 21 days of the date of this notice, dated 20 March 2024."
    """)),
    (E, "Rewrite this NDA sentence in plain English: 'The Receiving Party shall not, without the prior written consent of the Disclosing Party, disclose, publish or otherwise make available any Confidential Information to any third party.'"),
    (E, "Is this clause about payment, assignment or termination? 'Neither party may assign this Agreement without the other party's prior written consent, except to a successor in a merger or acquisition.'"),
    (E, P(r"""
        Fill the blanks in this template from the data and return the finished paragraph:
        TEMPLATE: "This Consulting Agreement is made on [DATE] between [CLIENT] ('Client') and [CONSULTANT] ('Consultant'). Consultant will provide [SERVICES] at a rate of [RATE] per hour, invoiced monthly."
        DATA: date 3 June 2024; client Fennwick Foods plc; consultant Marisol Díaz; services supply-chain process review; rate £95
    """)),
    (H, P(r"""
        You are the contract-risk assistant in LexDesk. Be precise and flag uncertainty.
        Our SaaS contract with a German customer has these clauses:
        §7.2: "Supplier's total liability is limited to the fees paid in the preceding 12 months."
        §7.3: "The limitation in §7.2 does not apply to breaches of §9 (Data Protection)."
        §9.4: "Each party's liability for data protection breaches is limited to EUR 250,000."
        §12: "In case of conflict, the DPA (Annex 3) prevails." Annex 3 §8: "Liability under this DPA is unlimited."
        Fees paid last 12 months: €84,000. A misconfiguration on our side exposed customer personal data; the customer claims €1.2M. Governing law: Germany. What is our realistic liability exposure and which arguments does each side have? Also consider whether §7.2 survives AGB control under §§ 307–309 BGB.
    """)),
    (H, "We're a US startup; our EU customer data is stored on AWS in Frankfurt but our support team in Manila can access it. What transfer mechanism do we need under GDPR, do SCCs alone suffice, and what's the transfer impact assessment supposed to cover?"),
    (H, "Contractor wrote our core code, no IP assignment, now wants equity. Who owns it?"),
    (H, "Can we register 'Starbrew' for coffee in the US, given Starbucks?"),
    (H, P(r"""
        Tenant in New York City (rent-stabilised apartment). Lease renewal offered 2 months late, with a 9% increase. The landlord also demands a $1,500 "amenity fee" for a new gym. The tenant had a leak unrepaired for 5 months and withheld one month's rent, now the landlord threatens eviction. Analyse the tenant's position on each issue and the order in which she should act.
    """)),
    (H, "Limitation period check: a builder in England finished our extension in May 2017; cracks appeared in 2021 and a surveyor attributed them to defective foundations in March 2024. Is a negligence or contract claim still in time? Consider the Latent Damage Act."),
    (H, "Bannière cookies avec « Refuser » caché derrière « Paramètres » : conforme aux exigences de la CNIL ?"),
    (H, "Can two 30% founders remove the 40% founder from a Delaware board?"),
    (H, P(r"""
        Review this clause from the customer's side, explain the risks and propose redlines:
        "Provider may modify these Terms, the Services and the Fees at any time by posting a revised version on its website. Continued use of the Services after such posting constitutes acceptance. Fee changes take effect at the next renewal, which occurs automatically for successive 12-month terms unless cancelled at least 90 days before the end of the then-current term."
    """)),
    (H, "Battle of the forms: our quote vs their PO terms under UCC 2-207. Whose terms govern?"),
    (H, "Ontario: new contract capping my termination pay at ESA minimums after 8 years — enforceable?"),
    (H, "Is our résumé-ranking tool high-risk under the EU AI Act? Our duties as deployer?"),
    (H, "Compare setting up our 3-person consultancy as a UK LLP vs a limited company for liability, tax on £300k profit, and admin. We split profits unevenly."),
    (H, P(r"""
        Our freelancer agreement says: "All work product is a 'work made for hire'. To the extent it is not, Contractor hereby assigns all rights." The freelancer is in Poland and wrote software for us (US company). Is the work-for-hire language effective for her, does the assignment fallback work under Polish copyright law (including the requirement to list fields of exploitation), and what should we fix?
    """)),
    (H, "Texas agents recording calls with California customers: what disclosure is required?"),
    (H, "Our app lets users post reviews of local dentists. A dentist sends a cease-and-desist over a 1-star review calling him 'a butcher'. What's our exposure under Section 230, and what about the reviewer's?"),
    (H, "Draft a US consumer arbitration clause that survives Viking River."),
    (H, "Berlin landlord wants +15% rent after a Modernisierung. Can he?"),
]

# ---------------------------------------------------------------------------------------------
# marketing_copy: copy generators in marketing, social-media and CMS tools.
# ---------------------------------------------------------------------------------------------

F["marketing_copy"] = [
    (E, "Write 5 Google Ads headlines (max 30 characters each) for a mobile car-wash service in Phoenix."),
    (E, "Meta description (max 155 chars) for a blog post titled 'How to Keep Basil Alive Indoors All Winter'."),
    (E, "Push notification for our meditation app's new 7-day sleep course, max 50 characters, calm tone."),
    (E, P(r"""
        Rewrite this paragraph in our brand voice (playful, short sentences, second person, no jargon):
        "Our platform leverages best-in-class automation to streamline your invoicing workflow, reducing manual effort and accelerating time-to-payment for small businesses."
    """)),
    (E, "Give me 10 hashtags for an Instagram post about a sourdough workshop in Bristol."),
    (E, "Write two A/B variants of a CTA button for a free trial of a note-taking app. Max 3 words each."),
    (E, P(r"""
        Newsletter intro, 60–80 words, from these bullet points:
        - spring collection drops Thursday
        - 20% off for subscribers for 48h with code BLOOM20
        - new recycled-cotton line
        - pop-up store in Copenhagen April 12–14
    """)),
    (E, "Write a tagline for a family-run bike repair shop called 'Spoke & Sprocket'. 5 options."),
    (E, "Turn this blog intro into a tweet under 280 characters: 'Most teams think their onboarding emails are fine. We analysed 1,200 SaaS onboarding sequences and found that 63% never mention the product's core feature in the first three emails.'"),
    (E, "Schreib einen kurzen Instagram-Text (2 Sätze + Emoji) für die Eröffnung unseres Eiscafés am Samstag in Freiburg."),
    (E, P(r"""
        SYSTEM: You are the copy assistant in Canvaly's social post builder. Follow the brand kit: friendly, no exclamation marks, max one emoji, always end with the link placeholder {link}.
        USER: post for LinkedIn announcing our new template library for real-estate agents, 300+ templates, free for Pro users
    """)),
    (E, "Write a 15-second radio ad script for a weekend furniture sale, 30% off sofas."),
    (E, "Suggest 8 blog post titles about budget travel in Portugal."),
    (E, P(r"""
        Shorten these ad descriptions to max 90 characters each, keep the offer:
        1. "Discover our handcrafted leather wallets, made in Florence by third-generation artisans, now with free engraving on every order this month."
        2. "Get fresh, locally grown vegetables delivered to your door every week, with no subscription lock-in and a free first box for new customers."
    """)),
    (E, "Write alt text and a caption for a photo of our team planting trees at the company volunteer day."),
    (E, "Rédige trois objets d'e-mail pour relancer les clients qui ont abandonné leur panier, ton léger."),
    (E, "What's a good name for a podcast about women in construction? Give 6 ideas."),
    (E, P(r"""
        Turn the product changelog into a friendly 'What's new' post for customers (max 120 words):
        v3.8: bulk edit for tags; calendar view now shows time zones; fixed: CSV export cut off at 10k rows; faster search (≈2x); new integration: Notion.
    """)),
    (E, "Write a YouTube video description (3 short paragraphs) for our tutorial 'Set up a home espresso bar for under $400'."),
    (E, "Rewrite 'We are pleased to announce the launch of our new product' in 5 less boring ways."),
    (E, "Give me an SMS promo (max 160 chars incl. opt-out text) for a 2-for-1 pizza Tuesday."),
    (E, P(r"""
        Here is the brand guide excerpt our copy tool loads before every request. Only use it to answer the question at the end.

        VOICE: Warm, direct, a little nerdy. We say "you" not "users". We never say "revolutionary", "game-changing", "seamless" or "leverage". Sentences under 20 words. British spelling. Numbers: spell out one to nine, digits for 10 and above. Product names: Loom Notes, Loom Boards (never "LoomNotes"). Emoji: none in emails, max one in social posts. Sign-offs: "— The Loom team".

        QUESTION: Fix this line so it follows the guide: "Our revolutionary LoomNotes app lets users organize 5 projects seamlessly! 🚀🚀"
    """)),
    (H, P(r"""
        Allocate a $60,000 monthly budget across channels to maximise paid sign-ups. Last 3 months, with diminishing returns we estimated as sign-ups = a·ln(1 + spend/b):
        Google Search: a = 820, b = 9,000 (max useful spend $35k)
        Meta: a = 610, b = 12,000
        LinkedIn: a = 240, b = 6,000
        Podcast sponsorships: fixed $8,000 per slot, ~95 sign-ups per slot, max 2 slots.
        Constraints: at least $5k on LinkedIn (brand commitment), Meta no more than 40% of total. Find the allocation and the expected sign-ups, and explain how you'd check the model before trusting it.
    """)),
    (H, "Email open rates fell from 38% to 22% the week we switched ESP in March; clicks and revenue per email stayed flat, and Apple Mail Privacy Protection was already in effect before. Work out the likely causes and what data would tell them apart."),
    (H, "Plan a product launch campaign for a B2B cybersecurity tool with a 10-week runway, $120k budget, a fixed conference in week 7, a security certification that may or may not land before week 5, and a sales team that can handle at most 40 demos per week. Give the week-by-week plan with contingencies."),
    (H, "Our brand-lift study says ad recall +6 points (95% CI 1–11) but geo holdout says no sales lift (−0.4%, CI −2.1 to +1.3). The CMO wants to double TV spend. Write the recommendation."),
]

# ---------------------------------------------------------------------------------------------
# meeting_notes: note-taking apps and meeting recorders: summaries, action items, follow-ups.
# ---------------------------------------------------------------------------------------------

F["meeting_notes"] = [
    (E, P(r"""
        Extract the action items from this transcript excerpt as a list "owner — task — due":

        Priya: OK so for the launch, Marcus, can you get the pricing page copy to legal by Wednesday?
        Marcus: Yep, Wednesday works.
        Priya: Great. And Jen, the onboarding emails?
        Jen: I'll have drafts by Friday, but I need the screenshots from design first.
        Priya: Leo, can you send Jen the screenshots tomorrow?
        Leo: Sure, tomorrow morning.
        Priya: I'll book the go/no-go meeting for next Monday.
    """)),
    (E, P(r"""
        Write a 3-sentence summary of this standup for people who missed it:

        Tom: Yesterday I finished the export endpoint, today I'm writing tests, no blockers.
        Aisha: Still debugging the flaky login test. Might need help from someone who knows the auth mocks.
        Diego: I'm out Thursday and Friday. Today I'm pairing with Aisha on the login test.
        Kate: Reviewed three PRs, today I'm starting the settings redesign. Blocked on final icons from design.
    """)),
    (E, "Suggest a short title for a meeting whose notes start: 'Discussed Q3 hiring plan for the data team, agreed to open two analyst roles, postponed ML engineer role to Q4.'"),
    (E, P(r"""
        Clean up my raw notes into tidy bullets, fix typos, don't add anything:
        - vendor call w/ Stackly - they cant do SSO until nov
        - price 18k/yr for 50 seats, can negotiate maybe 15
        - need answer by fri
        - ask IT abt okta compat
    """)),
    (E, P(r"""
        From these meeting notes, list only the decisions that were made (not the discussion):

        Weekly product sync, May 6
        - Long debate about moving the release from Tuesday to Thursday; agreed: releases move to Thursdays starting May 16.
        - Sam raised the idea of a beta program; no decision, Sam to write a one-pager.
        - Agreed to drop IE11 support in the admin panel.
        - Discussed support load; Nora will share numbers next week.
        - Decided the mobile team owns push-notification settings from now on.
    """)),
    (E, "Write a follow-up email to the client after today's kickoff: thanks, recap that we agreed on a 6-week timeline starting June 3, weekly check-ins on Tuesdays at 10:00, and that they'll send brand assets by Friday."),
    (E, P(r"""
        Translate this meeting summary into Japanese for our Tokyo colleagues:
        "We agreed to launch the pilot in two stores in September. The budget is approved. Next meeting: July 12."
    """)),
    (E, P(r"""
        You are the note-taking assistant in Huddle. Produce the standard recap with these headings: Summary (2 sentences), Decisions, Action items, Open questions.

        TRANSCRIPT (excerpt, 1:1 between manager Elena and engineer Karim)
        Elena: How's the migration going?
        Karim: About 70% of the services are moved. The billing service is the hard one; it still depends on the old message queue.
        Elena: Do you need anyone?
        Karim: Maybe Sofia for a week, she wrote the consumer code.
        Elena: I'll ask her manager today. Are we still on for end of month?
        Karim: If Sofia can help, yes. Otherwise mid-next month.
        Elena: OK. And your conference talk proposal?
        Karim: I'll submit it by Thursday.
        Elena: Great, send it to me first so I can review it.
        Karim: Will do. One question — do we keep the old queue running as a fallback after cutover?
        Elena: Let's decide that with the platform team next week.
    """)),
    (E, "Turn these notes into a one-line Slack update: 'design review done, 2 minor changes requested (button color, empty state copy), dev can start Monday'"),
    (E, "Who spoke the most in this excerpt? 'Ana: Let's start. Ana: First item is the budget. Bo: Fine by me. Ana: Then hiring. Ana: We need two people. Cy: Agreed. Ana: Great, thanks all.'"),
    (E, P(r"""
        Fasse die Besprechung in drei Stichpunkten zusammen:
        Wir haben über die neue Urlaubsregelung gesprochen. Ab Juli können alle Mitarbeitenden bis zu zehn Tage im Jahr aus dem Ausland arbeiten. Anträge laufen über das HR-Portal und müssen zwei Wochen vorher gestellt werden. Die Regelung wird nach sechs Monaten überprüft.
    """)),
    (E, "Make a meeting agenda for a 30-minute quarterly review with a key client: results, issues, next-quarter plan, AOB. Include time per item."),
    (E, P(r"""
        Extract every date and time mentioned and what it refers to, as a table:
        "So the board deck is due to Hannah on the 14th, the dry run is the 16th at 3pm, board meeting itself is the 18th at 9, and we said we'd send the minutes by the 21st."
    """)),
    (E, P(r"""
        Here's the full transcript of our 25-minute design critique. I only need: what did people say about the color palette? One short paragraph.

        Mina: So this is version three of the onboarding flow. Main changes are the progress bar and the illustrations.
        Rob: The progress bar is much clearer. I like that it shows step names now.
        Mina: Thanks. Any thoughts on the copy?
        Tess: The second screen is a bit wordy. Could we cut the paragraph about permissions?
        Mina: Legal wanted that, but I can shorten it.
        Rob: On the colors — the teal feels a bit cold next to the warm illustrations.
        Tess: Agree on the teal. Also the orange buttons and the orange illustration accents compete with each other.
        Jon: I actually like the teal, but maybe a warmer shade. And I'd keep orange only for primary actions.
        Mina: OK, so warmer teal, orange only on buttons.
        Rob: Yes. And the dark mode version needs a check, the illustrations look muddy.
        Tess: Last thing, the skip button is hard to find.
        Mina: Noted, I'll make it a text link at the top.
        Jon: Can we test this with five users before the next round?
        Mina: Sure, I'll set that up with research.
    """)),
    (E, "Write a friendly calendar invite description for a team retro next Thursday 4–5pm: what went well, what didn't, what we'll try. Bring one idea each."),
    (E, "Convert this to a numbered list of next steps: finalise budget, then get sign-off from Ravi, then order equipment, then schedule install with facilities."),
    (E, "Sentiment of the client in this call snippet? 'Honestly the last two sprints have been disappointing. We're not seeing the progress we were promised.'"),
    (E, P(r"""
        Compress this summary to fit in a 200-character notification:
        "The team reviewed Q2 results: revenue grew 12% but churn increased in the SMB segment. We agreed to launch a retention campaign in July led by Carla, and to revisit SMB pricing at the August meeting."
    """)),
    (H, P(r"""
        Our notes app has three meetings about the same project. Reconstruct the current state: final scope, launch date, budget and owner, noting which later decision overrides which earlier one and what is still genuinely unresolved.

        Meeting 1 (Mar 4): Launch date Jun 1. Scope: web + iOS. Budget $200k. Owner: Petra.
        Meeting 2 (Mar 25): Android added to scope "if budget allows". Budget raised to $260k pending CFO approval. Launch date unchanged.
        Meeting 3 (Apr 15): CFO approved $240k, not $260k. Petra moves to another team; Omar owns it "for the launch". iOS reviewer backlog means Jun 1 is at risk; team suggests a web-only launch Jun 1 and mobile Jun 22. No one objected, but the VP wasn't present.
        Email after meeting 3 (Apr 16, VP): "Launch must be all platforms together."
    """)),
    (H, P(r"""
        You are the project assistant in Huddle.
        From this planning-meeting transcript, build the task schedule with dependencies and tell me the earliest possible finish date. Work is Mon–Fri only; today is Monday, June 3; June 19 is a holiday.

        Lea: Data model takes me about 4 days, I can start today.
        Ben: The API needs the data model done, and it's about 6 days of work.
        Cara: I can do the UI mockups in parallel starting today, 3 days, but UI build needs both mockups and the API, and it's 5 days.
        Dan: QA needs the UI build, 3 days. But I'm out June 17–18.
        Lea: Also the migration script — 2 days, after the data model, and it must finish before QA starts.
        Ben: And security review is 2 days after the API, can overlap with UI build, must finish before QA.
    """)),
    (H, P(r"""
        Across these weekly risk logs, which risks keep coming back without an owner, which were closed prematurely, and what should be escalated to the steering group? Justify each.

        W1: vendor API rate limits (no owner); GDPR DPA not signed (owner: Legal); test data quality (owner: Ana)
        W2: vendor API rate limits (no owner); test data quality closed — "fixed"; key engineer leaving in June (no owner)
        W3: GDPR DPA not signed (owner: Legal, "waiting on vendor"); test data quality (owner: none — new failures in staging)
        W4: vendor API rate limits — "vendor says higher tier available" (no owner); key engineer leaving (owner: HR)
        W5: GDPR DPA not signed (no owner listed); load test missing (no owner); vendor API rate limits (no owner)
        W6: go-live in 3 weeks; load test missing (no owner); test data quality (owner: Ana)
    """)),
    (H, P(r"""
        Sales call transcript excerpt. The customer said several things that conflict with what's in our CRM. List the conflicts, decide which version is more likely correct in each case and why, and draft the CRM update.

        CRM: Account Hollis Freight — 120 seats, renewal Sept 30, champion Dana Cole (VP Ops), competitor: none, budget approved.
        Call:
        Dana: We're actually at 165 drivers now, and the dispatchers need access too, so more like 190 users.
        Dana: I'm moving to the finance side in August, Marco will own this going forward.
        Marco: We've been trialling RouteLogic with two depots, the pricing looked interesting.
        Dana: Our fiscal year starts October, the renewal budget isn't approved until the board meets Sept 12.
        Marco: And legal wants to look at the data processing terms again before anything is signed.
    """)),
    (H, P(r"""
        Draft the formal minutes' resolutions section from these board-meeting notes, and flag any resolution that was not validly passed. Articles: 7 directors; quorum is 4 directors present; resolutions need a majority of directors present; a director with a declared interest may not vote or count towards the quorum on that item.

        10:00 Present: Alvarez (chair), Brandt, Chen, Dube, Eriksen, Fox. Absent: Gupta.
        10:20 Resolution 1 (approve FY accounts): 5 for, 1 abstain.
        10:45 Dube declares an interest in item 3 (the supplier is her brother's company).
        10:50 Resolution 2 (open Madrid office): 4 for, 2 against.
        11:05 Brandt leaves.
        11:10 Resolution 3 (award the supplier contract): Alvarez, Chen, Eriksen for; Fox against; Dube did not vote.
        11:30 Chen leaves.
        11:35 Resolution 4 (grant options to the CFO): Alvarez, Eriksen for; Fox against; Dube for.
    """)),
    (H, P(r"""
        Interview transcripts from 5 customer calls are summarised below. Synthesise the main needs, weigh how strong the evidence is for each (who said it, how many, was it prompted), and say what you'd build first and what you'd still test.

        C1 (ops manager, 40-person logistics firm): spends 3h/week rebuilding the same Excel report; wants scheduled exports. Mentions "would pay for this" unprompted.
        C2 (CFO, same size): likes dashboards but says "my team lives in Excel anyway". Asked directly, says scheduled exports "nice to have".
        C3 (analyst, 300-person retailer): wants SQL access, not exports. Complains about dashboard load times (8–10s).
        C4 (ops lead, 25-person firm): wants exports to Google Sheets specifically; uses our dashboards daily.
        C5 (CEO, 15-person startup): wants mobile view. Has not logged in for 3 weeks.
    """)),
    (H, P(r"""
        Pricing committee notes: three people proposed discount rules, all marked "hard constraints". Write one consistent discount policy that satisfies as many as possible, and show exactly which constraints cannot all hold together.

        Ines (Sales): reps can give up to 20% without approval; multi-year deals always get an extra 5% on top.
        Paul (Finance): no deal may be priced below 70% of list; any total discount above 15% needs CFO approval.
        Yuki (Product): education customers get a flat 40% off and it never stacks; nonprofits get 25% and may stack with the multi-year discount.
    """)),
    (H, P(r"""
        Incident-review meeting notes. People remember the timeline differently. Build the most likely timeline and say which claims can't all be true.

        Ravi: I got paged at 02:10 and saw the DB at 100% CPU.
        Mei: The deploy went out at 02:15, I'm sure, because I checked the pipeline.
        Ravi: The CPU spike started before the deploy, so it can't be the deploy.
        Logs: deploy pipeline finished 02:07 UTC; pager alert fired 02:09 UTC; Ravi's laptop clock is 4 minutes fast.
        Mei (later): my 02:15 was from my phone screenshot, which is local time in Lisbon (UTC+1 in summer).
        Dashboard: DB CPU over 90% from 02:04 UTC.
    """)),
    (H, "We record every customer call. Design how our notes app should detect commitments made by our staff ('we'll fix that by Friday') across calls, track whether they were kept, and avoid false positives from hypotheticals. Include evaluation."),
    (H, P(r"""
        Two note-taker tools summarised the same meeting and disagree. Produce one authoritative summary and explain each call you make.

        Tool A summary: "Budget approved at $45k. Vendor follow-up: Sam. Launch moved to October. Pilot in 3 regions."
        Tool B summary: "Budget approved at $54k. Vendor follow-up: Pam. Launch stays in September, pilot in 3 regions."
        Transcript fragments (Tool B's transcription, which is known to swap digits sometimes):
        [12:04] Kai: ...so forty-five is what finance signed off, not the fifty-four we asked for.
        [12:09] Kai: Pam, can you chase the vendor? — Pam: I'm out next week, can Sam take it? — Sam: Sure.
        [12:15] Lu: If the vendor slips we move launch to October. — Kai: Let's decide that on the 20th.
    """)),
]

# ---------------------------------------------------------------------------------------------
# ops_engineering: devops copilots, incident bots and platform-engineering assistants.
# ---------------------------------------------------------------------------------------------

F["ops_engineering"] = [
    (E, "What does an HTTP 502 Bad Gateway mean, in one sentence for a status-page FAQ?"),
    (E, "Cron expression for 'every weekday at 06:30'?"),
    (E, "kubectl command to list pods in namespace payments that are not Running?"),
    (E, P(r"""
        Summarise this alert for the on-call Slack channel in one line:
        {"alertname": "HighErrorRate", "service": "checkout-api", "env": "prod", "severity": "critical", "value": "7.4%", "threshold": "5%", "window": "5m", "started_at": "2024-05-14T09:42:10Z", "runbook": "https://wiki.internal/runbooks/checkout-errors"}
    """)),
    (E, P(r"""
        Convert this JSON log line into a readable sentence:
        {"ts":"2024-05-14T11:02:33Z","level":"WARN","svc":"inventory","msg":"stock reservation timeout","order_id":"o_77812","sku":"HX-204","waited_ms":5000}
    """)),
    (E, "Write a GitHub Actions step that caches ~/.cargo/registry keyed on Cargo.lock."),
    (E, P(r"""
        SYSTEM: You are OpsBuddy, the internal platform assistant. Answer from the runbook excerpt only.
        RUNBOOK (Rotate DB credentials): 1) Create the new secret version in Vault at secret/db/app. 2) Run `deploy restart app` in each region, eu first. 3) Verify with `healthcheck --db`. 4) After 24h, revoke the old credentials with `dbadmin revoke --old`.
        USER: do I restart us or eu first, and when can I revoke the old password?
    """)),
    (H, P(r"""
        Root-cause this incident from the logs. Different components disagree about timing; reconcile them.

        02:00:00 cron: nightly-reindex started (host search-3)
        02:03:12 search-3: GC pause 4.8s
        02:03:15 lb: search-3 marked unhealthy (3 failed checks), traffic shifted to search-1, search-2
        02:03:40 search-1: heap 92%, GC pause 6.1s
        02:04:02 lb: search-1 unhealthy
        02:04:30 search-2: rejected requests, thread pool queue full (1000)
        02:04:31 api: p99 latency 14s, error rate 38%
        02:06:00 search-3: healthy again, lb re-adds it
        02:06:05 search-3: GC pause 5.2s; lb: search-3 unhealthy
        02:15:47 cron: nightly-reindex finished
        02:16:30 all search nodes healthy
        Config: reindex batch size was raised from 500 to 5,000 docs on May 10. LB health check: 1s timeout, 3 failures.

        Give the causal chain, the contributing factors and the fixes, in priority order.
    """)),
    (H, "Zero-downtime NOT NULL column on a 400M-row Postgres 11 table at 3k writes/s?"),
    (H, "Capacity plan: our API does 2,400 rps at peak today with 18 pods at 65% CPU. Traffic grows 9% per month, Black Friday is 3.5x a normal peak, pods take 90 s to become ready, and the DB tops out at 11,000 rps of queries (each API request makes 2.7 queries on average). What do we need by November, and what breaks first?"),
    (H, "Design outbound webhook delivery at 30k events/s: retries with backoff, per-resource ordering, HMAC signing, replay protection and a dead-letter queue customers can replay from."),
    (H, P(r"""
        Kafka consumer lag on topic orders keeps growing every day between 18:00 and 21:00 and recovers overnight. 12 partitions, consumer group of 12 pods, each handling ~400 msg/s at peak. Producer rate at peak 6,100 msg/s. The consumer does one Postgres upsert per message. Autoscaling adds pods up to 20 but lag doesn't improve. Explain why and propose fixes with expected effect.
    """)),
    (H, P(r"""
        We get deadlocks in Postgres a few times an hour. From the log:

        Process 4121 waits for ShareLock on transaction 99812; blocked by process 4177.
        Process 4177 waits for ShareLock on transaction 99807; blocked by process 4121.
        Process 4121: UPDATE accounts SET balance = balance - $1 WHERE id = $2
        Process 4177: UPDATE accounts SET balance = balance - $1 WHERE id = $2

        The app transfers money between two accounts in one transaction: debit the sender, then credit the receiver. Explain the deadlock and give a fix that keeps correctness under concurrency.
    """)),
    (H, "JVM heap capped at 1.5 GB, container limit 2 GB, still OOMKilled daily. Why?"),
    (H, "Celery tasks run twice after a worker restart. acks_late=True, visibility_timeout 1h. Why?"),
    (H, "Our AWS bill is $310k/month: 52% EC2 (mostly m5 on-demand, avg CPU 18%), 21% RDS, 14% data transfer (cross-AZ heavy), 13% other. Commit-level options, rightsizing, and architecture changes — give a prioritised plan with estimated savings and risks."),
    (H, "p99 got worse after we doubled the app replicas behind the same pgbouncer. Why?"),
    (H, P(r"""
        Terraform plan wants to destroy and recreate our production RDS instance after I changed one line. What happened and how do I make this change safely?

        -  storage_encrypted = false
        +  storage_encrypted = true
        # aws_db_instance.main must be replaced
    """)),
    (H, "Design the blue/green deployment for a service with long-lived WebSocket connections (up to 6 hours) and an in-memory session cache, so deploys don't drop users or lose state."),
    (H, "Our DNS failover took 11 minutes instead of the expected 60 seconds during the last region outage. TTL is 60 s. List every layer that could have cached the old answer and how to verify each."),
    (H, "Write an SLO and error-budget policy for our checkout API: which SLIs, what targets, burn-rate alert thresholds for 1h and 6h windows, and what happens when the budget is exhausted."),
    (H, P(r"""
        After enabling HTTP/2 on our ALB, some clients on corporate networks see intermittent 'ERR_HTTP2_PROTOCOL_ERROR' on large file downloads (> 50 MB) while small requests work. Backend is nginx 1.18 behind the ALB, proxy_buffering on, gzip on. What could cause it and how would you narrow it down?
    """)),
    (H, "Backup design for a 9 TB MySQL cluster: RPO 5 min, RTO 1 h, restores proven."),
    (E, "Is it safe to run `VACUUM FULL` on our 600 GB orders table during business hours? If not, what's the alternative to reclaim bloat?"),
    (H, "Redisのメモリが1週間で18GBから31GBに増えたが、キー数は変わっていない。考えられる原因は？"),
    (H, "Plan the migration of 140 microservices from a self-managed Kubernetes 1.21 cluster to EKS 1.29 with two engineers over one quarter. Sequencing, deprecated APIs, and rollback."),
    (E, "Explain exactly how a split-brain happened in our 2-node Elasticsearch cluster with minimum_master_nodes=1 and how to configure it so it can't."),
    (H, P(r"""
        Our build times went from 8 to 26 minutes over two months. Data:
        - Monorepo, 1,900 Bazel targets, remote cache hit rate fell from 91% to 48%.
        - A new code-generation step writes a timestamp into a header included by ~600 targets.
        - CI runners moved from 16-core to 8-core machines in the same period to save money.
        - Test count grew 20%.
        How much of the slowdown does each factor plausibly explain, and what should we fix first?
    """)),
    (H, "Our AWS root access key leaked on GitHub at 2 a.m. Exact steps, in order?"),
]

# ---------------------------------------------------------------------------------------------
# spreadsheet_helper: formula assistants in Excel / Google Sheets and table helpers.
# ---------------------------------------------------------------------------------------------

F["spreadsheet_helper"] = [
    (E, "Excel formula: sum column D where column B is 'North' and column C is 'Q2'."),
    (E, "Google Sheets: look up the price for the product code in A2 from the sheet 'Prices' (codes in column A, prices in column C). Use XLOOKUP if available."),
    (E, "Count how many cells in B2:B500 contain the word 'refund' anywhere in the text."),
    (E, "How do I highlight the whole row in Google Sheets when column F says 'Overdue'?"),
    (E, "Formula to get the number of days between the date in A2 and today?"),
    (E, "Split 'Lastname, Firstname' in column A into two columns in Excel without VBA."),
    (E, "What does #REF! mean in Excel and what usually causes it?"),
    (E, "Percent change from B2 (last year) to C2 (this year) as a formula, formatted as a percentage."),
    (E, P(r"""
        [Sheets Assistant — selected range A1:D6]
        | Name | Dept | Start date | Salary |
        | Ada | Eng | 2021-03-01 | 98000 |
        | Ben | Sales | 2022-07-15 | 72000 |
        | Cleo | Eng | 2020-11-02 | 105000 |
        | Dev | Ops | 2023-01-09 | 64000 |
        | Eli | Sales | 2019-05-20 | 81000 |
        User: "what's the average salary in Eng?"
    """)),
    (E, "Write a Google Sheets QUERY that returns columns A and C from Orders!A:E where column E is greater than 100, sorted by C descending."),
    (E, "Excel: round the value in B4 up to the nearest 0.05."),
    (E, "Convert this table to CSV: Region | Units\nEast | 120\nWest | 95\nSouth | 143"),
    (E, "How do I freeze the top row and the first column in Excel?"),
    (E, "Formula that returns 'Pass' if C2 ≥ 60 and 'Fail' otherwise, and leaves the cell empty if C2 is blank."),
    (E, "Fórmula de Excel para extraer el dominio de un correo en A2 (lo que va después de la @)."),
    (E, P(r"""
        I pasted my expense table below. Please just add a "Total" row at the bottom with the sum of the Amount column, and return the table in the same markdown format.

        | Date | Vendor | Category | Amount |
        |---|---|---|---|
        | 2024-04-02 | Staples | Office | 48.20 |
        | 2024-04-05 | Lufthansa | Travel | 412.00 |
        | 2024-04-05 | Hotel Adlon | Travel | 289.50 |
        | 2024-04-09 | AWS | Software | 131.77 |
        | 2024-04-16 | Uber | Travel | 23.40 |
        | 2024-04-22 | Figma | Software | 45.00 |
    """)),
    (E, "Make a formula that concatenates first name (A2) and last name (B2) with a space, in proper case."),
    (E, "What's the keyboard shortcut to insert today's date in a cell in Excel on Windows?"),
    (H, "Build a loan amortisation schedule in Google Sheets where the rate changes every 12 months (rates listed in a side table), extra payments can be entered in any month, and the schedule stops when the balance hits zero. Give the column layout and the exact formulas."),
    (H, P(r"""
        My 3-statement model has a circular reference: interest expense depends on the average debt balance, which depends on the revolver draw, which depends on cash after interest. Excel shows 'Circular reference' and numbers jump around when iterative calc is on. How should I structure this properly, and what's the standard way to break or control the circularity (with a circuit breaker)?
    """)),
    (H, "Single array formula in Google Sheets: for each row, the running count of distinct customer IDs (column B) seen so far within the same region (column A), no helper columns."),
    (H, P(r"""
        Reconcile two sheets. 'Bank' has 1,842 rows (date, amount, description); 'Ledger' has 1,861 rows (date, amount, invoice, customer). Amounts can be split (one bank payment covers 2–3 invoices), dates can differ by up to 5 days, and descriptions contain the invoice number only sometimes. Design the matching approach in Sheets or Excel formulas (or Power Query), in passes from exact to fuzzy, and how to report what's left.
    """)),
    (H, "Set up a Monte Carlo simulation in Excel (no add-ins) for project cost: 6 line items each with min/most-likely/max (triangular), 5,000 runs, and output P50/P80/P95 plus a histogram. Give the formulas."),
    (H, "I have weekly sales for 3 years in Sheets. Build a forecast for the next 13 weeks that handles yearly seasonality and the Easter shift (moving holiday). Which functions, and how do I check if it's any good?"),
    (H, P(r"""
        [Sheets Assistant — selected cell E2]
        This formula returns wrong bonuses for some people and I can't see why:
        =IF(C2>100000, C2*0.1, IF(C2>50000, C2*0.07, IF(C2>=75000, C2*0.08, C2*0.05)))
        Rules: under 50k 5%; 50k–75k 7%; 75k–100k 8%; over 100k 10%; but employees in column D marked "Probation" get half, and nobody gets more than 12,000. Fix it and tell me which rows were wrong before.
    """)),
    (H, "Build a cohort table in Excel from a raw orders sheet (customer_id, order_date, amount) showing revenue retention by signup month and month offset, using only formulas or a pivot — no macros. Explain the helper columns and how to avoid counting refunds."),
    (H, "Design a shift-rota spreadsheet for 14 staff that flags rule breaches automatically: max 5 shifts/week, 11 hours rest between shifts, at least 2 qualified first-aiders per shift, and fair weekend distribution over 4 weeks. Which formulas or conditional rules?"),
    (H, "Our sheet calculates commissions with tiered rates applied marginally (like tax brackets), with a quarterly accelerator once 120% of quota is hit and clawbacks for refunds within 90 days. Write the formula logic and a test table with edge cases."),
    (H, "XIRR returns #NUM! for cash flows that change sign three times. Why, and what now?"),
]

# ---------------------------------------------------------------------------------------------
# travel_booking: booking sites, airline and hotel assistants, trip planners.
# ---------------------------------------------------------------------------------------------

F["travel_booking"] = [
    (E, P(r"""
        Extract the booking details into JSON (airline, flight, date, dep_airport, dep_time, arr_airport, arr_time, booking_ref, passengers) from this confirmation:

        Your booking is confirmed! Booking reference: QX7T2M
        Passengers: Mr Daniel Okafor, Mrs Ruth Okafor
        Flight KL1004, Sat 14 Sep 2024
        London Heathrow (LHR) 07:15 → Amsterdam Schiphol (AMS) 09:30
        Baggage: 1 x 23 kg per passenger. Check-in opens 30 hours before departure.
    """)),
    (E, "It's 3:00 pm in New York. What time is it in Tokyo (no DST there; New York is on EDT)?"),
    (E, "Pre-departure checklist for an international flight: documents, check-in, phone, money. Short bullets."),
    (E, "How do I say 'I have a reservation under the name Becker' in Italian?"),
    (E, P(r"""
        Using only the fare rules below, answer the traveller: can she bring her cabin bag and a backpack for free?
        FARE: Basic Economy. Included: 1 personal item (max 40 x 30 x 15 cm) under the seat. Cabin bag (max 55 x 40 x 23 cm, 8 kg): €25 online, €45 at the gate. Checked bag: from €35.
    """)),
    (E, "Is tipping expected in restaurants in Budapest, and how much is usual?"),
    (E, P(r"""
        Reformat this itinerary as a markdown table (Day | City | Hotel | Notes):
        Day 1 Lisbon, Hotel Avenida, arrive 14:00. Day 2 Lisbon, Hotel Avenida, Sintra day trip. Day 3 Porto, Casa do Rio, train 09:39. Day 4 Porto, Casa do Rio, port cellar tour at 16:00.
    """)),
    (E, "Write a polite message to an Airbnb host asking if early check-in at 11 am is possible; our flight lands at 8."),
    (E, "Flight is 7,300 km. Convert to miles."),
    (E, P(r"""
        You are Wanda, the virtual concierge for Hotel Meridiano, Rome. Use the hotel info and be brief.
        INFO: Breakfast 7:00–10:30 (weekends until 11:00) on the rooftop. Check-out 11:00; late check-out until 14:00 for €30, subject to availability. Airport shuttle to FCO €55, book 24h ahead. Nearest metro: Barberini (line A), 4 min walk.
        GUEST: "can we have breakfast at 10:45 on sunday and is there a shuttle to the airport?"
    """)),
    (E, "Traduza para o inglês: 'Gostaria de cancelar a minha reserva para o dia 12 de agosto, por favor.'"),
    (E, "Summarise this hotel review in one line: 'Room was smaller than the pictures, but spotless. Staff went out of their way to help us find a pharmacy at midnight. Street noise until 2am on weekends though. Breakfast was excellent.'"),
    (E, "Do I need a visa to visit Japan for 10 days as a Canadian tourist? Short answer."),
    (E, "Suggest 5 kid-friendly things to do in Copenhagen on a rainy day."),
    (E, P(r"""
        The traveller's calendar export is below. Just tell me on which date the Berlin hotel check-out happens.

        2024-10-01 09:00 Flight BA982 LHR→BER
        2024-10-01 15:00 Check-in Hotel am Gendarmenmarkt (3 nights)
        2024-10-02 10:00 Client workshop, Mitte office
        2024-10-03 19:30 Team dinner, Restaurant Nante-Eck
        2024-10-04 11:00 Check-out Hotel am Gendarmenmarkt
        2024-10-04 13:45 Train Berlin Hbf → Hamburg Hbf (ICE 1008)
        2024-10-04 16:00 Check-in Hotel Atlantic Hamburg (2 nights)
        2024-10-06 12:00 Check-out Hotel Atlantic Hamburg
        2024-10-06 17:20 Flight BA973 HAM→LHR
    """)),
    (E, "Write a one-sentence reminder notification that online check-in for flight IB3171 to Madrid opens in 2 hours."),
    (H, P(r"""
        You are the visa assistant in TripWise. Never guess; show the day counts.
        Schengen 90/180 check. A US citizen's stays in the Schengen area:
        Jan 10 – Feb 20 (Spain), Mar 15 – Apr 5 (Italy), May 1 – May 25 (France).
        She wants to enter Germany on June 20 and stay until August 10. Is that allowed? If not, what's the latest date she can stay until, or the earliest date she could enter for the full trip? Show the day counts.
    """)),
    (H, P(r"""
        Plan 11 days for 2 adults from Toronto. Fixed: I'm giving a conference talk in Split, Croatia on Saturday June 14 at 17:00; we must be back at work in Toronto on Monday June 23. Wanted: 3 nights hiking in the Dolomites. Constraints: only one of us drives, no overnight flights, no more than one flight connection per direction, CAD 9,000 all-in for both. Propose the itinerary with routing and ground transport, and check every constraint explicitly.
    """)),
    (H, "My flight Frankfurt→Bangkok on Lufthansa arrived 3h40m late because of a crew shortage; I also missed my separately booked AirAsia connection to Phuket and paid €210 for a new ticket and a hotel night. What can I claim under EU261, how much, and what's not covered?"),
    (H, "Is a 55-minute connection at Munich from a Schengen to a non-Schengen flight (arriving terminal 2, departing 2 satellite) realistic for a family with a stroller, and what happens with our bags and tickets if we miss it on a single booking vs separate tickets?"),
    (H, "Cheapest way to get 9 people (from Boston, Denver and Atlanta) to a wedding in Tuscany on a Saturday in late September, with two wheelchair users, one person who can only leave Friday night, and a max of one connection each? Give a plan with airports, ground transport and rough costs."),
    (H, "Points optimisation: I have 180k Amex MR, 95k Chase UR and 40k United miles. I want two business-class seats NYC→Tokyo in March and back from Osaka. What's the best combination of transfers and programmes, and what should I watch out for?"),
    (H, P(r"""
        Our corporate travel policy:
        - Economy for flights under 6 hours; premium economy 6–9 hours; business over 9 hours or for overnight flights departing after 21:00.
        - Hotels max €180/night in Tier-2 cities, €250 in Tier-1 (London, Paris, New York, Tokyo), taxes included.
        - Trips over 5 nights need director approval.
        - Weekend stays are allowed if they reduce total trip cost.

        Request: Sales rep, Munich → New York (8h50m, departs 10:35) Mon → Thu return overnight flight (departs 22:15, 7h55m), hotel 3 nights at $289/night + 14.75% tax + $3.50/night occupancy tax (USD/EUR 0.92). She asks to stay Saturday too because the Saturday return flight is €410 cheaper than Thursday, which would add 2 hotel nights. Approve or reject each element, with the arithmetic.
    """)),
    (H, "Drive from Denver to Yellowstone to Glacier and back in 9 days with a Tesla Model Y (real-world range 400 km), never arriving at a hotel after 20:00 and with at least 6 hours of sightseeing per park day. Plan each day with charging stops."),
    (H, "A hotel overbooked us and 'walked' us to a worse place 25 km away without transport. We booked via Expedia, prepaid. What are our rights and who do we claim from: hotel, Expedia, or our credit card? We're EU residents travelling in the US."),
    (H, "Optimise a 10-city European rail trip for a 2-month Interrail pass vs point-to-point tickets: Amsterdam, Berlin, Prague, Vienna, Budapest, Ljubljana, Venice, Florence, Nice, Barcelona, in any order, minimising total cost including seat reservations."),
    (H, "Should we buy travel insurance for a €9,000 safari in Tanzania with a 70-year-old with stable heart disease? Compare what 'cancel for any reason', medical evacuation and pre-existing-condition waivers actually cover and the time-sensitive conditions."),
    (H, "We land at JFK at 16:40 on a Friday and must be at a rehearsal dinner in Greenwich, CT at 19:00 with checked bags and a toddler. Compare car service, train and rental car with realistic times, and pick one with a backup."),
    (H, "ESTA refused because of a 2019 arrest in Spain, no conviction. Can I still fly to the US next month?"),
]

# ---------------------------------------------------------------------------------------------

def normalise(s):
    """NFKC, lowercase, drop punctuation/symbols, collapse whitespace (as gen_everyday.py)."""
    s = unicodedata.normalize("NFKC", s).lower()
    s = "".join(ch for ch in s if not unicodedata.category(ch).startswith(("P", "S")))
    return re.sub(r"\s+", " ", s).strip()


def words(s):
    return set(normalise(s).split())


def jaccard(a, b):
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def build_rows():
    rows = []
    for group in sorted(F):
        for label, prompt in F[group]:
            assert label in (E, H), (group, prompt[:60])
            rows.append({"prompt": prompt, "weak": label, "strong": 1, "group": group})
    return rows


def read_prompts(name):
    path = os.path.join(HERE, name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["prompt"] for line in f if line.strip()]


def check(rows):
    errors = []
    seen = {}
    for r in rows:
        p = r["prompt"]
        if not p.strip() or p != p.strip():
            errors.append(f"empty prompt or outer whitespace: {p[:60]!r}")
        n = normalise(p)
        if n in seen:
            errors.append(f"duplicate prompt: {p[:80]!r} ~ {seen[n][:80]!r}")
        seen[n] = p
    for name in OTHER_SETS:
        others = read_prompts(name)
        if others is None:
            errors.append(f"{name} not found next to this script")
            continue
        other_exact = set(others)
        other_norm = {normalise(o): o for o in others}
        for r in rows:
            if r["prompt"] in other_exact or normalise(r["prompt"]) in other_norm:
                errors.append(f"prompt also in {name}: {r['prompt'][:80]!r}")
        if name == TABLE:
            other_words = [(o, words(o)) for o in others]
            for r in rows:
                w = words(r["prompt"])
                for o, ow in other_words:
                    j = jaccard(w, ow)
                    if j >= JACCARD_LIMIT:
                        errors.append(f"word overlap {j:.2f} with {name}: {r['prompt'][:60]!r} ~ {o[:60]!r}")
    return errors


def write_jsonl(path, objs):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for o in objs:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")


def main():
    rows = build_rows()
    errors = check(rows)
    if errors:
        for e in errors:
            print("error:", e, file=sys.stderr)
        return 1
    write_jsonl(OUT, rows)
    easy = sum(r["weak"] for r in rows)
    print(
        f"{os.path.basename(OUT)}: {len(rows)} rows ({easy} easy, {len(rows) - easy} hard) "
        f"in {len(F)} families"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
