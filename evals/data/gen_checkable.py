#!/usr/bin/env python3
"""Writes checkable.jsonl: everyday tasks whose answers can be checked automatically.

Each row is a short, realistic chat request with one exact, machine-checkable answer:

  {"id": "<family>-<n>", "family": "<family>", "level": 1..3, "prompt": "...",
   "answer": {"kind": "number" | "text" | "label" | "exact" | "sequence", ...}}

`level` is the difficulty inside a family for a tiny chat model (1 easy, 2 medium, 3 hard).
The rows measure when a small local model (SmolLM2-135M-Instruct class) answers correctly,
so every family spans easy and hard items. The checking rules for each answer kind live in
evals/src/checkable.rs (`Answer::check`) and are described in README.md; `reference_check`
below is a Python copy of them, used only by this script's self-check.

Every prompt is built by code from the small word and fact tables in this file. Arithmetic
and conversions are computed, never typed in. The output is deterministic: each family draws
from its own random.Random seeded with SEED and the family name.

Run from anywhere:
  python3 evals/data/gen_checkable.py          # write checkable.jsonl, print counts
  python3 evals/data/gen_checkable.py --check  # validate the existing checkable.jsonl only

The script refuses to write anything if a prompt appears twice (exactly, or after lowercasing
and collapsing whitespace), if a row breaks the schema, or if a row's gold answer fails the
reference checker. Stdlib only.
"""

import argparse
import collections
import json
import math
import os
import re
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "checkable.jsonl")
SEED = 20250611

FAMILIES = [
    "arithmetic",
    "unit_conversion",
    "facts",
    "spelling_words",
    "sentiment",
    "topic",
    "extraction",
    "format_conversion",
    "yes_no",
]

MAX_PROMPT = 300
MAX_PROMPT_EXTRACTION = 600


# ---------------------------------------------------------------------------------------------
# Answers
# ---------------------------------------------------------------------------------------------


def clean_num(v):
    """An int when the value is whole, else a float rounded to 6 places."""
    if isinstance(v, int):
        return v
    if abs(v - round(v)) < 1e-9:
        return int(round(v))
    return round(v, 6)


def fmt(v):
    """A number as a person writes it in a prompt: no trailing .0."""
    v = clean_num(v)
    return str(v)


def num(value, tol=0):
    return {"kind": "number", "value": clean_num(value), "tol": clean_num(tol)}


def text(value, alts=(), case=False, wrong=()):
    a = {"kind": "text", "value": value, "alts": list(alts), "case": case}
    if wrong:
        a["wrong"] = list(wrong)
    return a


def label(value, labels):
    return {"kind": "label", "value": value, "labels": list(labels)}


def exact(value):
    return {"kind": "exact", "value": value}


def seq(values):
    return {"kind": "sequence", "values": [clean_num(v) for v in values]}


def yes(v):
    """Gold 'yes' or 'no': the other word must not appear."""
    return text("yes", wrong=["no"]) if v else text("no", wrong=["yes"])


def truth(v):
    return text("true", wrong=["false"]) if v else text("false", wrong=["true"])


# Single letters a model could give as the answer to a letter question. "a" and "i" are
# left out: they are ordinary English words ("it is a P", "I think"), so no letter question
# has them as its answer and they never count as an answer either.
LETTERS = [c for c in "abcdefghijklmnopqrstuvwxyz" if c not in "ai"]


def letter(value, exclude=()):
    assert value in LETTERS, value
    return label(value, [c for c in LETTERS if c not in exclude or c == value])


# ---------------------------------------------------------------------------------------------
# Generation helpers
# ---------------------------------------------------------------------------------------------


def norm_prompt(p):
    return " ".join(p.lower().split())


class Family:
    def __init__(self, name, seen):
        self.name = name
        self.rng = random.Random(f"checkable/{SEED}/{name}")
        self.rows = []
        self.seen = seen
        self.keys = set()

    def add(self, level, prompt, answer, key=None):
        """Add a row unless its prompt was seen (in any family) or its task `key` was used in
        this family: the same question in other words is not added twice."""
        p = norm_prompt(prompt)
        if p in self.seen or (key is not None and key in self.keys):
            return False
        self.seen.add(p)
        if key is not None:
            self.keys.add(key)
        self.rows.append({"level": level, "prompt": prompt, "answer": answer})
        return True

    def fill(self, level, n, make):
        """Call make(rng) until n new rows of this level were added. make returns None (try
        again), (prompt, answer) or (prompt, answer, key)."""
        got, tries = 0, 0
        while got < n:
            tries += 1
            if tries > n * 400:
                sys.exit(f"{self.name}: could only make {got} of {n} level-{level} rows")
            r = make(self.rng)
            if r is None:
                continue
            if self.add(level, *r):
                got += 1


def pick(rng, xs):
    return xs[rng.randrange(len(xs))]


def ask(rng, p, suffixes):
    """Append a random instruction such as " Answer with just the number." the way people do."""
    s = pick(rng, suffixes).strip()
    if not s:
        return p
    if p.endswith("="):
        return p  # "7 + 5 =" reads as a complete request
    if p[-1] not in ".?!:)\"”'`":
        return p + ", " + s[0].lower() + s[1:]  # "what's 7+5, just the number please."
    if p[-1] in "\"”'`" and p[-2:-1] not in (".", "?", "!"):
        return p + ". " + s
    return p + " " + s


def casual(rng, p):
    """Vary a prompt the way people type: sometimes a lowercase start, sometimes no '?'."""
    r = rng.random()
    if r < 0.2 and p[:1].isupper() and not p[1:2].isupper():
        p = p[0].lower() + p[1:]
    if rng.random() < 0.15 and p.endswith("?"):
        p = p[:-1].rstrip()
    return p


NUM_SUFFIX = [
    "", "", "", "",
    " Answer with just the number.",
    " Just the number, please.",
    " Reply with only the number.",
    " Give me just the number.",
]
ONE_WORD = ["", "", "", " Reply with one word.", " One word, please.", " Answer in one word."]
SHORT = ["", "", "", " Keep it short.", " Just the answer, please.", " Short answer please."]
YN_SUFFIX = ["", "", "", " Answer yes or no.", " Yes or no?", " Just yes or no, please."]


# ---------------------------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------------------------

ADD_T = [
    "What is {a} + {b}?", "{a} plus {b} = ?", "what's {a}+{b}", "Calculate {a} + {b}.",
    "{a} + {b} =", "What do you get if you add {a} and {b}?", "Add {a} and {b}.",
    "whats {a} plus {b}", "Quick maths: {a} + {b}?", "What is the sum of {a} and {b}?",
    "{a}+{b}?", "Can you add {a} and {b} for me?", "What's {a} plus {b}?",
]
SUB_T = [
    "What is {a} - {b}?", "{a} minus {b} = ?", "what's {a}-{b}", "Calculate {a} - {b}.",
    "Subtract {b} from {a}.", "{a} - {b} =", "What is {a} take away {b}?",
    "Quick one: {a} minus {b}?", "If I have {a} apples and give away {b}, how many are left?",
    "What's {a} minus {b}?", "{a}-{b}?",
]
MUL_T = [
    "What is {a} × {b}?", "{a} times {b}?", "calculate {a}*{b}", "What's {a} multiplied by {b}?",
    "{a} x {b} = ?", "Multiply {a} by {b}.", "what is {a} * {b}", "What is the product of {a} and {b}?",
    "{a}*{b}=", "How much is {a} times {b}?",
]
DIV_T = [
    "What is {a} ÷ {b}?", "{a} divided by {b}?", "calculate {a}/{b}", "What's {a} / {b}?",
    "Divide {a} by {b}.", "How many times does {b} go into {a}?",
    "If {a} cookies are shared equally among {b} kids, how many does each kid get?",
    "what is {a} divided by {b}",
]
PCT_T = [
    "What's {p}% of {n}?", "what is {p} percent of {n}", "Calculate {p}% of {n}.",
    "How much is {p}% of {n}?", "A ${n} jacket is {p}% off. How many dollars is the discount?",
    "I want to leave a {p}% tip on a ${n} bill. How much is the tip in dollars?",
    "{p}% of {n} = ?",
]
ORDER_T = [
    ("What is {a} + {b} × {c}?", lambda a, b, c: a + b * c),
    ("Calculate ({a} + {b}) × {c}.", lambda a, b, c: (a + b) * c),
    ("{a} × {b} - {c} = ?", lambda a, b, c: a * b - c),
    ("what is {a} * {b} + {c}", lambda a, b, c: a * b + c),
    ("What's ({a} - {b}) × {c}?", lambda a, b, c: (a - b) * c),
]


def arithmetic(f):
    def l1(rng):
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        if rng.random() < 0.55:
            t, v, op = pick(rng, ADD_T), a + b, "+"
        else:
            a, b = max(a, b), min(a, b)
            t, v, op = pick(rng, SUB_T), a - b, "-"
        return ask(rng, casual(rng, t.format(a=a, b=b)), NUM_SUFFIX), num(v), (op, a, b)

    def l2(rng):
        r = rng.random()
        if r < 0.35:
            a, b = rng.randint(10, 99), rng.randint(10, 99)
            t, v, op = pick(rng, ADD_T), a + b, "+"
        elif r < 0.7:
            a, b = rng.randint(10, 99), rng.randint(10, 99)
            a, b = max(a, b), min(a, b)
            if a == b:
                return None
            t, v, op = pick(rng, SUB_T), a - b, "-"
        else:
            a, b = rng.randint(2, 9), rng.randint(2, 9)
            t, v, op = pick(rng, MUL_T), a * b, "*"
        return ask(rng, casual(rng, t.format(a=a, b=b)), NUM_SUFFIX), num(v), (op, a, b)

    def l3(rng):
        r = rng.random()
        if r < 0.3:
            if rng.random() < 0.6:
                a, b = rng.randint(12, 99), rng.randint(12, 99)
            else:
                a, b = rng.randint(101, 999), rng.randint(3, 9)
            p, v, key = pick(rng, MUL_T).format(a=a, b=b), a * b, ("*", a, b)
        elif r < 0.55:
            if rng.random() < 0.5:
                b, q = rng.randint(3, 12), rng.randint(11, 99)
            else:
                b, q = rng.randint(13, 25), rng.randint(3, 15)
            p, v, key = pick(rng, DIV_T).format(a=b * q, b=b), q, ("/", b * q, b)
        elif r < 0.8:
            pc = pick(rng, [5, 10, 12.5, 15, 20, 25, 30, 40, 60, 75, 80])
            n = pick(rng, [20, 40, 60, 80, 120, 160, 200, 240, 250, 300, 360, 400, 480, 500, 640, 800, 1200])
            v = pc * n / 100
            if abs(v - round(v)) > 1e-9:
                return None
            p, key = pick(rng, PCT_T).format(p=fmt(pc), n=n), ("%", pc, n)
        else:
            t, fn = pick(rng, ORDER_T)
            a, b, c = rng.randint(2, 12), rng.randint(2, 9), rng.randint(2, 9)
            v = fn(a, b, c)
            if v < 0:
                return None
            p, key = t.format(a=a, b=b, c=c), (t, a, b, c)
        return ask(rng, casual(rng, p), NUM_SUFFIX), num(v), key

    f.fill(1, 100, l1)
    f.fill(2, 100, l2)
    f.fill(3, 100, l3)


# ---------------------------------------------------------------------------------------------
# unit_conversion
# ---------------------------------------------------------------------------------------------


def conv(templates, lo, hi, factor, step=1, tol=0, scale=1):
    """A converter: pick x in lo..hi (by step, divided by scale) and ask x * factor. With a
    scale, only fractional x are asked (whole ones are the easier converters' job)."""

    def make(rng):
        x = rng.randrange(lo, hi + 1, step) / scale
        if scale != 1 and x == int(x):
            return None
        return pick(rng, templates).format(x=fmt(x)), x * factor, tol, (templates[0], x)

    return make


def c_to_f(c):
    return c * 9 / 5 + 32


UNIT_L1 = [
    conv(["How many meters are in {x} km?", "Convert {x} km to meters.", "{x} kilometers = how many metres?", "what is {x} km in m"], 1, 20, 1000),
    conv(["How many minutes are in {x} hours?", "Convert {x} hours to minutes.", "{x} hours is how many minutes?", "how many mins in {x} hrs"], 2, 12, 60),
    conv(["How many grams are in {x} kg?", "Convert {x} kilograms to grams.", "{x} kg = ? g", "what's {x} kg in grams"], 1, 20, 1000),
    conv(["How many eggs are in {x} dozen?", "{x} dozen is how many?", "If I buy {x} dozen donuts, how many donuts is that?"], 2, 6, 12),
    conv(["How many days are in {x} weeks?", "{x} weeks is how many days?", "Convert {x} weeks to days."], 2, 10, 7),
    conv(["How many seconds are in {x} minutes?", "Convert {x} minutes to seconds.", "{x} min = ? seconds"], 2, 10, 60),
    conv(["How many centimeters are in {x} meters?", "Convert {x} m to cm.", "{x} metres in centimetres?"], 1, 20, 100),
    conv(["How many milliliters are in {x} liters?", "Convert {x} L to mL.", "{x} litres = how many ml?"], 1, 10, 1000),
    conv(["How many hours are in {x} days?", "Convert {x} days to hours.", "{x} days = ? hours"], 2, 4, 24),
    conv(["How many months are in {x} years?", "{x} years is how many months?"], 2, 10, 12),
]

UNIT_L2 = [
    conv(["How many kilometers is {x} meters?", "Convert {x} m to km.", "{x} metres in km?", "what is {x} m in kilometres"], 1500, 9500, 1 / 1000, step=500),
    conv(["How many hours is {x} minutes?", "Convert {x} minutes to hours.", "{x} min = ? hours"], 90, 450, 1 / 60, step=30),
    conv(["How many kilograms is {x} grams?", "Convert {x} g to kg.", "{x} grams in kg?"], 1500, 9500, 1 / 1000, step=500),
    conv(["How many weeks are in {x} days?", "Convert {x} days to weeks.", "{x} days is how many weeks?"], 14, 84, 1 / 7, step=7),
    conv(["How many days is {x} hours?", "Convert {x} hours to days.", "{x} hours = ? days"], 48, 168, 1 / 24, step=24),
    conv(["How many meters is {x} cm?", "Convert {x} cm to meters.", "{x} centimetres in metres?"], 150, 950, 1 / 100, step=50),
    conv(["How many inches are in {x} feet?", "Convert {x} feet to inches.", "{x} ft = ? inches"], 2, 10, 12),
    conv(["How many minutes is {x} seconds?", "Convert {x} seconds to minutes.", "{x} s in minutes?"], 120, 600, 1 / 60, step=60),
    conv(["How many eggs are in {x} dozen?", "{x} dozen = how many items?", "How many is {x} dozen?"], 7, 15, 12),
    conv(["How many liters is {x} mL?", "Convert {x} ml to liters.", "{x} millilitres in litres?"], 1500, 5000, 1 / 1000, step=250),
    conv(["How many minutes are in {x} hours?", "Convert {x} hours to minutes."], 15, 95, 60, step=10, scale=10),
]
C_TO_F_T = ["What is {x}°C in Fahrenheit?", "Convert {x} °C to °F.", "{x} degrees Celsius is how many degrees Fahrenheit?", "what's {x}C in F"]
F_TO_C_T = ["What is {x}°F in Celsius?", "Convert {x} °F to °C.", "{x} degrees Fahrenheit is how many degrees Celsius?"]


def unit_c_to_f(values, tol=0.5):
    def make(rng):
        c = pick(rng, values)
        return pick(rng, C_TO_F_T).format(x=fmt(c)), c_to_f(c), tol, ("C", c)

    return make


def unit_f_to_c(values, tol=0.5):
    def make(rng):
        c = pick(rng, values)
        return pick(rng, F_TO_C_T).format(x=fmt(c_to_f(c))), c, tol, ("F", c)

    return make


def approx(templates, values, factor):
    """Imperial/metric: the answer is rounded by the reader, so tol is 1% (at least 0.05)."""

    def make(rng):
        x = pick(rng, values)
        v = x * factor
        return (pick(rng, templates).format(x=fmt(x)), round(v, 4), round(max(0.05, abs(v) * 0.01), 4),
                (templates[0], x))

    return make


UNIT_L2.append(unit_c_to_f([0, 10, 20, 30, 100]))

UNIT_L3 = [
    unit_c_to_f([-40, -20, -10, -5, 5, 15, 25, 35, 40, 45, 50, 60, 80, 37]),
    unit_f_to_c([-40, -10, 0, 5, 10, 15, 20, 25, 30, 35, 40, 100]),
    conv(["How many minutes are in {x} days?", "Convert {x} days to minutes.", "{x} days = ? minutes"], 1, 5, 1440),
    conv(["How many seconds are in {x} hours?", "Convert {x} hours to seconds.", "{x} hours is how many seconds?"], 1, 6, 3600),
    conv(["How many hours are in {x} weeks?", "Convert {x} weeks to hours."], 1, 4, 168),
    conv(["What is {x} km/h in m/s?", "Convert {x} km/h to meters per second.", "{x} kilometres per hour is how many m/s?"], 18, 144, 1 / 3.6, step=18),
    approx(["How many kilometers is {x} miles?", "Convert {x} miles to km.", "{x} mi in kilometres?"], [1, 2, 3, 5, 10, 20, 50, 100], 1.609344),
    approx(["How many centimeters is {x} inches?", "Convert {x} inches to cm.", "{x} in = ? cm"], [1, 2, 5, 10, 12, 20], 2.54),
    approx(["How many kilograms is {x} pounds?", "Convert {x} lb to kg.", "{x} pounds in kilos?"], [1, 2, 5, 10, 20, 50, 100], 0.45359237),
    conv(["How many seconds are in {x} days?", "Convert {x} days to seconds."], 1, 3, 86400),
    conv(["How many milliseconds are in {x} seconds?", "Convert {x} s to ms."], 2, 9, 1000),
    conv(["How many meters is {x} km?", "Convert {x} km to metres.", "{x} km = ? m"], 125, 975, 1000, step=25, scale=100),
]


def unit_conversion(f):
    def from_pool(pool):
        def make(rng):
            r = pick(rng, pool)(rng)
            if r is None:
                return None
            p, v, tol, key = r
            return ask(rng, casual(rng, p), NUM_SUFFIX), num(v, tol), key

        return make

    f.fill(1, 80, from_pool(UNIT_L1))
    f.fill(2, 80, from_pool(UNIT_L2))
    f.fill(3, 80, from_pool(UNIT_L3))


# ---------------------------------------------------------------------------------------------
# facts
# ---------------------------------------------------------------------------------------------

# (country as written in a sentence, capital, alternative spellings)
CAPITALS = {
    1: [
        ("France", "Paris", []), ("Japan", "Tokyo", []), ("Italy", "Rome", []),
        ("Germany", "Berlin", []), ("Spain", "Madrid", []), ("the United Kingdom", "London", []),
        ("Russia", "Moscow", []), ("China", "Beijing", []), ("Egypt", "Cairo", []),
        ("Greece", "Athens", []), ("Ireland", "Dublin", []), ("Portugal", "Lisbon", []),
        ("the United States", "Washington, D.C.", ["Washington"]), ("Mexico", "Mexico City", []),
        ("Austria", "Vienna", []), ("South Korea", "Seoul", []), ("Thailand", "Bangkok", []),
        ("Argentina", "Buenos Aires", []), ("Norway", "Oslo", []), ("Sweden", "Stockholm", []),
        ("Poland", "Warsaw", []), ("India", "New Delhi", ["Delhi"]), ("Denmark", "Copenhagen", []),
    ],
    2: [
        ("Australia", "Canberra", []), ("Canada", "Ottawa", []), ("Turkey", "Ankara", []),
        ("Brazil", "Brasília", ["Brasilia"]), ("Switzerland", "Bern", ["Berne"]),
        ("the Netherlands", "Amsterdam", []), ("Hungary", "Budapest", []),
        ("the Czech Republic", "Prague", []), ("Finland", "Helsinki", []), ("Belgium", "Brussels", []),
        ("Kenya", "Nairobi", []), ("Peru", "Lima", []), ("Cuba", "Havana", []),
        ("Colombia", "Bogotá", ["Bogota"]), ("Chile", "Santiago", []), ("Venezuela", "Caracas", []),
        ("the Philippines", "Manila", []), ("Indonesia", "Jakarta", []), ("Vietnam", "Hanoi", ["Ha Noi"]),
        ("Pakistan", "Islamabad", []), ("Iran", "Tehran", ["Teheran"]), ("Iraq", "Baghdad", []),
        ("Saudi Arabia", "Riyadh", []), ("New Zealand", "Wellington", []), ("Nigeria", "Abuja", []),
        ("Morocco", "Rabat", []), ("Ethiopia", "Addis Ababa", []), ("Ukraine", "Kyiv", ["Kiev"]),
        ("Romania", "Bucharest", []), ("Iceland", "Reykjavík", ["Reykjavik"]),
        ("Malaysia", "Kuala Lumpur", []), ("North Korea", "Pyongyang", []), ("Afghanistan", "Kabul", []),
        ("Syria", "Damascus", []), ("Jamaica", "Kingston", []), ("Bulgaria", "Sofia", []),
        ("Serbia", "Belgrade", []), ("Croatia", "Zagreb", []), ("Ghana", "Accra", []),
        ("Lebanon", "Beirut", []), ("Qatar", "Doha", []), ("the United Arab Emirates", "Abu Dhabi", []),
        ("Nepal", "Kathmandu", []), ("Bangladesh", "Dhaka", []), ("Uruguay", "Montevideo", []),
        ("Ecuador", "Quito", []), ("Algeria", "Algiers", []), ("Scotland", "Edinburgh", []),
    ],
    3: [
        ("Mongolia", "Ulaanbaatar", ["Ulan Bator", "Ulaanbaatar"]), ("Burkina Faso", "Ouagadougou", []),
        ("Kazakhstan", "Astana", []), ("Myanmar", "Naypyidaw", ["Nay Pyi Taw", "Naypyitaw"]),
        ("Tanzania", "Dodoma", []), ("Bhutan", "Thimphu", []), ("Kyrgyzstan", "Bishkek", []),
        ("Tajikistan", "Dushanbe", []), ("Turkmenistan", "Ashgabat", ["Ashkhabad"]),
        ("Uzbekistan", "Tashkent", []), ("Laos", "Vientiane", []), ("Cambodia", "Phnom Penh", []),
        ("Slovenia", "Ljubljana", []), ("Slovakia", "Bratislava", []), ("Lithuania", "Vilnius", []),
        ("Latvia", "Riga", []), ("Estonia", "Tallinn", []), ("Moldova", "Chișinău", ["Chisinau", "Kishinev"]),
        ("Albania", "Tirana", ["Tirane", "Tiranë"]), ("North Macedonia", "Skopje", []),
        ("Bosnia and Herzegovina", "Sarajevo", []), ("Montenegro", "Podgorica", []),
        ("the country of Georgia", "Tbilisi", []), ("Armenia", "Yerevan", []), ("Azerbaijan", "Baku", []),
        ("Oman", "Muscat", []), ("Jordan", "Amman", []), ("Mali", "Bamako", []), ("Niger", "Niamey", []),
        ("Chad", "N'Djamena", ["Ndjamena", "N'Djaména"]), ("Cameroon", "Yaoundé", ["Yaounde"]),
        ("Uganda", "Kampala", []), ("Rwanda", "Kigali", []), ("Zambia", "Lusaka", []),
        ("Zimbabwe", "Harare", []), ("Mozambique", "Maputo", []), ("Angola", "Luanda", []),
        ("Namibia", "Windhoek", []), ("Botswana", "Gaborone", []), ("Madagascar", "Antananarivo", []),
        ("Somalia", "Mogadishu", []), ("Eritrea", "Asmara", []), ("Mauritania", "Nouakchott", []),
        ("Gabon", "Libreville", []), ("Togo", "Lomé", ["Lome"]), ("Sierra Leone", "Freetown", []),
        ("Liberia", "Monrovia", []), ("Malawi", "Lilongwe", []), ("Senegal", "Dakar", []),
        ("Nicaragua", "Managua", []), ("Honduras", "Tegucigalpa", []), ("El Salvador", "San Salvador", []),
        ("Costa Rica", "San José", ["San Jose"]), ("the Dominican Republic", "Santo Domingo", []),
        ("Haiti", "Port-au-Prince", []), ("the Bahamas", "Nassau", []), ("Paraguay", "Asunción", ["Asuncion"]),
        ("Fiji", "Suva", []), ("Papua New Guinea", "Port Moresby", []), ("Libya", "Tripoli", []),
        ("Sudan", "Khartoum", []), ("Belarus", "Minsk", []),
    ],
}
CAPITAL_T = [
    "What is the capital of {c}?", "capital of {c}?", "What's the capital city of {c}?",
    "Which city is the capital of {c}?", "Tell me the capital of {c}.", "what is the capital city of {c}",
    "Do you know the capital of {c}?",
]
# (city, country, alternative country names): "X is the capital of which country?"
CAPITAL_REVERSE = {
    1: [("Paris", "France", []), ("Tokyo", "Japan", []), ("Rome", "Italy", []), ("Berlin", "Germany", []),
        ("Madrid", "Spain", []), ("Moscow", "Russia", []), ("Cairo", "Egypt", []), ("Athens", "Greece", []),
        ("Lisbon", "Portugal", []), ("Dublin", "Ireland", [])],
    2: [("Ottawa", "Canada", []), ("Canberra", "Australia", []), ("Nairobi", "Kenya", []),
        ("Lima", "Peru", []), ("Hanoi", "Vietnam", ["Viet Nam"]), ("Ankara", "Turkey", ["Türkiye", "Turkiye"])],
    3: [("Ulaanbaatar", "Mongolia", []), ("Bishkek", "Kyrgyzstan", []), ("Windhoek", "Namibia", []),
        ("Vientiane", "Laos", []), ("Asmara", "Eritrea", []), ("Thimphu", "Bhutan", [])],
}
CAPITAL_REVERSE_T = ["{city} is the capital of which country?", "Which country has {city} as its capital?",
                     "{city} is the capital of what country?"]

# (book as written in a question, author, alternatives)
BOOKS = {
    1: [
        ("Romeo and Juliet", "William Shakespeare", ["Shakespeare"]),
        ("Hamlet", "William Shakespeare", ["Shakespeare"]),
        ("Macbeth", "William Shakespeare", ["Shakespeare"]),
        ("Harry Potter and the Philosopher's Stone", "J. K. Rowling", ["Rowling"]),
        ("The Lord of the Rings", "J. R. R. Tolkien", ["Tolkien"]),
        ("The Hobbit", "J. R. R. Tolkien", ["Tolkien"]),
        ("the Sherlock Holmes stories", "Arthur Conan Doyle", ["Conan Doyle"]),
    ],
    2: [
        ("Pride and Prejudice", "Jane Austen", ["Austen"]),
        ("the novel 1984", "George Orwell", ["Orwell"]),
        ("Animal Farm", "George Orwell", ["Orwell"]),
        ("The Great Gatsby", "F. Scott Fitzgerald", ["Fitzgerald"]),
        ("To Kill a Mockingbird", "Harper Lee", []),
        ("Moby-Dick", "Herman Melville", ["Melville"]),
        ("War and Peace", "Leo Tolstoy", ["Tolstoy"]),
        ("A Christmas Carol", "Charles Dickens", ["Dickens"]),
        ("Oliver Twist", "Charles Dickens", ["Dickens"]),
        ("Frankenstein", "Mary Shelley", []),
        ("Dracula", "Bram Stoker", ["Stoker"]),
        ("The Adventures of Tom Sawyer", "Mark Twain", ["Twain"]),
        ("The Old Man and the Sea", "Ernest Hemingway", ["Hemingway"]),
        ("Alice's Adventures in Wonderland", "Lewis Carroll", ["Carroll"]),
        ("Don Quixote", "Miguel de Cervantes", ["Cervantes"]),
        ("The Odyssey", "Homer", []),
        ("Les Misérables", "Victor Hugo", ["Hugo"]),
        ("The Chronicles of Narnia", "C. S. Lewis", ["CS Lewis"]),
        ("The Hunger Games", "Suzanne Collins", ["Collins"]),
        ("The Da Vinci Code", "Dan Brown", []),
        ("On the Origin of Species", "Charles Darwin", ["Darwin"]),
        ("Great Expectations", "Charles Dickens", ["Dickens"]),
    ],
    3: [
        ("Crime and Punishment", "Fyodor Dostoevsky", ["Dostoevsky", "Dostoyevsky"]),
        ("Jane Eyre", "Charlotte Brontë", ["Charlotte Bronte"]),
        ("Wuthering Heights", "Emily Brontë", ["Emily Bronte"]),
        ("Brave New World", "Aldous Huxley", ["Huxley"]),
        ("The Catcher in the Rye", "J. D. Salinger", ["Salinger"]),
        ("One Hundred Years of Solitude", "Gabriel García Márquez", ["Garcia Marquez", "Márquez", "Marquez"]),
        ("The Divine Comedy", "Dante Alighieri", ["Dante"]),
        ("Madame Bovary", "Gustave Flaubert", ["Flaubert"]),
        ("The Metamorphosis", "Franz Kafka", ["Kafka"]),
        ("the novel Ulysses", "James Joyce", ["Joyce"]),
        ("Anna Karenina", "Leo Tolstoy", ["Tolstoy"]),
        ("The Little Prince", "Antoine de Saint-Exupéry", ["Saint-Exupery", "Saint-Exupéry"]),
        ("Of Mice and Men", "John Steinbeck", ["Steinbeck"]),
        ("The Grapes of Wrath", "John Steinbeck", ["Steinbeck"]),
        ("Fahrenheit 451", "Ray Bradbury", ["Bradbury"]),
        ("Gulliver's Travels", "Jonathan Swift", ["Swift"]),
        ("Robinson Crusoe", "Daniel Defoe", ["Defoe"]),
        ("Treasure Island", "Robert Louis Stevenson", ["Stevenson"]),
        ("The Picture of Dorian Gray", "Oscar Wilde", ["Wilde"]),
        ("Little Women", "Louisa May Alcott", ["Alcott"]),
        ("The Handmaid's Tale", "Margaret Atwood", ["Atwood"]),
        ("Murder on the Orient Express", "Agatha Christie", ["Christie"]),
        ("Charlotte's Web", "E. B. White", ["EB White"]),
        ("The Call of the Wild", "Jack London", []),
        ("The Iliad", "Homer", []),
        ("The Canterbury Tales", "Geoffrey Chaucer", ["Chaucer"]),
        ("Paradise Lost", "John Milton", ["Milton"]),
        ("The Count of Monte Cristo", "Alexandre Dumas", ["Dumas"]),
        ("The Three Musketeers", "Alexandre Dumas", ["Dumas"]),
        ("Heart of Darkness", "Joseph Conrad", ["Conrad"]),
        ("Mrs Dalloway", "Virginia Woolf", ["Woolf"]),
        ("The Scarlet Letter", "Nathaniel Hawthorne", ["Hawthorne"]),
        ("the novel Dune", "Frank Herbert", []),
        ("The Time Machine", "H. G. Wells", ["HG Wells"]),
    ],
}
BOOK_T = ["Who wrote {b}?", "Who is the author of {b}?", "who wrote {b}", "Which author wrote {b}?",
          "Name the author of {b}.", "Who's the author of {b}?"]

# (element, symbol, level)
ELEMENTS = [
    ("oxygen", "O", 1), ("hydrogen", "H", 1), ("carbon", "C", 1), ("helium", "He", 1),
    ("gold", "Au", 2), ("silver", "Ag", 2), ("iron", "Fe", 2), ("sodium", "Na", 2), ("nitrogen", "N", 2),
    ("copper", "Cu", 2), ("calcium", "Ca", 2), ("chlorine", "Cl", 2), ("neon", "Ne", 2), ("zinc", "Zn", 2),
    ("sulfur", "S", 2), ("magnesium", "Mg", 2),
    ("potassium", "K", 3), ("lead", "Pb", 3), ("mercury", "Hg", 3), ("tin", "Sn", 3), ("silicon", "Si", 3),
    ("uranium", "U", 3), ("tungsten", "W", 3), ("platinum", "Pt", 3), ("nickel", "Ni", 3),
    ("lithium", "Li", 3), ("fluorine", "F", 3), ("phosphorus", "P", 3), ("argon", "Ar", 3),
]
ELEMENT_T = ["What is the chemical symbol for {e}?", "chemical symbol of {e}?",
             "What's the symbol for {e} on the periodic table?", "Symbol for {e}?",
             "What is {e}'s chemical symbol?"]
# (symbol, element, level): "Which element has the symbol X?"
SYMBOL_REVERSE = [
    ("O", "oxygen", 1), ("H", "hydrogen", 1), ("C", "carbon", 1), ("He", "helium", 1),
    ("Fe", "iron", 2), ("Au", "gold", 2), ("Cu", "copper", 2), ("N", "nitrogen", 2),
    ("Ag", "silver", 3), ("Na", "sodium", 3), ("Pb", "lead", 3), ("K", "potassium", 3),
    ("Hg", "mercury", 3), ("Sn", "tin", 3), ("Zn", "zinc", 3),
]
SYMBOL_REVERSE_T = ["Which element has the chemical symbol {s}?", "What element is {s} on the periodic table?",
                    "The symbol {s} stands for which chemical element?"]

# Everything else: (level, [phrasings], answer). Numbers use `number` (the last number in the
# reply, or a number word if it wrote no digits); names and words use `text`.
MISC = [
    # space
    (1, ["Which planet is known as the Red Planet?", "What planet is called the red planet?"], text("Mars")),
    (1, ["What is the largest planet in our solar system?", "Biggest planet in the solar system?"], text("Jupiter")),
    (1, ["Which planet is famous for its rings?", "What planet has the most famous rings?"], text("Saturn")),
    (1, ["What is the name of the star at the center of our solar system?"], text("Sun")),
    (1, ["What is the Earth's natural satellite called?"], text("Moon")),
    (1, ["Who was the first person to walk on the Moon?"], text("Neil Armstrong", ["Armstrong"])),
    (1, ["How many planets are in our solar system?", "how many planets are there in the solar system"], num(8)),
    (2, ["Which planet is closest to the Sun?", "What's the closest planet to the sun?"], text("Mercury")),
    (2, ["Which planet is farthest from the Sun?", "What is the most distant planet from the Sun?"], text("Neptune")),
    (2, ["Which planet is third from the Sun?"], text("Earth")),
    (2, ["Which former planet was reclassified as a dwarf planet in 2006?"], text("Pluto")),
    (2, ["What galaxy do we live in?", "What is the name of our galaxy?"], text("Milky Way")),
    (2, ["Who was the first human in space?"], text("Yuri Gagarin", ["Gagarin"])),
    (3, ["What is the hottest planet in our solar system?"], text("Venus")),
    (3, ["Which planet rotates on its side?"], text("Uranus")),
    # geography
    (1, ["What is the largest ocean on Earth?", "Which ocean is the biggest?"], text("Pacific")),
    (1, ["What is the largest continent?", "Which continent is the biggest?"], text("Asia")),
    (1, ["What is the tallest mountain in the world?", "Which mountain is the highest above sea level?"], text("Everest")),
    (1, ["How many continents are there?"], num(7)),
    (2, ["What is the largest country in the world by area?"], text("Russia")),
    (2, ["What is the smallest country in the world?"], text("Vatican City", ["Vatican"])),
    (2, ["In which country are the pyramids of Giza?"], text("Egypt")),
    (2, ["On which continent is Kenya?"], text("Africa")),
    (3, ["In which country is Machu Picchu?"], text("Peru")),
    (3, ["Which country is home to the city of Marrakesh?"], text("Morocco")),
    (3, ["Which river flows through Paris?"], text("Seine")),
    (3, ["Which river flows through London?"], text("Thames")),
    # nature and animals
    (1, ["How many legs does a spider have?", "how many legs do spiders have"], num(8)),
    (1, ["How many legs does an insect have?"], num(6)),
    (1, ["How many legs does a dog have?"], num(4)),
    (1, ["What is the largest mammal in the world?", "What's the biggest mammal on Earth?"], text("blue whale")),
    (1, ["What is the fastest land animal?", "Which land animal is the fastest?"], text("cheetah")),
    (1, ["What is the tallest animal in the world?"], text("giraffe")),
    (1, ["What do bees make?"], text("honey")),
    (1, ["What is a baby cat called?"], text("kitten")),
    (1, ["What is a baby dog called?"], text("puppy", ["pup"])),
    (1, ["Which animal is known as the king of the jungle?"], text("lion")),
    (2, ["How many arms does an octopus have?"], num(8)),
    (2, ["What is the largest bird in the world?"], text("ostrich")),
    (2, ["What is a baby cow called?"], text("calf")),
    (2, ["What is a baby sheep called?"], text("lamb")),
    (2, ["What is the hardest natural substance?"], text("diamond")),
    (2, ["What gas do plants absorb from the air?", "Which gas do plants take in for photosynthesis?"], text("carbon dioxide", ["CO2", "CO₂"])),
    (1, ["What gas do humans need to breathe to stay alive?"], text("oxygen")),
    (3, ["How many hearts does an octopus have?"], num(3)),
    (3, ["What is a baby kangaroo called?"], text("joey")),
    (3, ["What is a group of lions called?"], text("pride")),
    (3, ["What is the largest organ of the human body?"], text("skin")),
    # human body and numbers
    (1, ["Which organ pumps blood around the body?"], text("heart")),
    (2, ["How many chambers does the human heart have?"], num(4)),
    (3, ["How many bones are in the adult human body?"], num(206)),
    (3, ["How many teeth does an adult human usually have?"], num(32)),
    (1, ["How many days are in a leap year?"], num(366)),
    (1, ["How many sides does a hexagon have?"], num(6)),
    (1, ["How many sides does a pentagon have?"], num(5)),
    (1, ["How many sides does an octagon have?"], num(8)),
    (3, ["How many sides does a heptagon have?"], num(7)),
    (2, ["How many degrees are in a right angle?"], num(90)),
    (2, ["What do the angles of a triangle add up to, in degrees?"], num(180)),
    (2, ["How many strings does a standard guitar have?"], num(6)),
    (2, ["How many players does a soccer team have on the field?"], num(11)),
    (3, ["How many keys does a standard piano have?"], num(88)),
    (1, ["At what temperature in Celsius does water freeze?"], num(0)),
    (1, ["At what temperature in Celsius does water boil at sea level?"], num(100)),
    (2, ["At what temperature in Fahrenheit does water boil at sea level?"], num(212)),
    # history, people, art
    (2, ["In what year did World War II end?"], num(1945)),
    (2, ["In what year did humans first land on the Moon?"], num(1969)),
    (3, ["In what year did the Titanic sink?"], num(1912)),
    (3, ["In what year did the Berlin Wall fall?"], num(1989)),
    (3, ["In what year did Columbus first reach the Americas?"], num(1492)),
    (1, ["Who painted the Mona Lisa?"], text("Leonardo da Vinci", ["da Vinci", "Leonardo"])),
    (2, ["Who painted The Starry Night?"], text("Vincent van Gogh", ["van Gogh"])),
    (1, ["Who developed the theory of relativity?"], text("Albert Einstein", ["Einstein"])),
    (1, ["Who was the first President of the United States?"], text("George Washington", ["Washington"])),
    (2, ["Who is usually credited with inventing the telephone?"], text("Alexander Graham Bell", ["Graham Bell"])),
    (3, ["Who discovered penicillin?"], text("Alexander Fleming", ["Fleming"])),
    (3, ["Who composed the Moonlight Sonata?"], text("Ludwig van Beethoven", ["Beethoven"])),
    (3, ["Who painted the ceiling of the Sistine Chapel?"], text("Michelangelo")),
    # everyday
    (1, ["What color do you get when you mix blue and yellow?"], text("green")),
    (1, ["What color do you get if you mix red and white?"], text("pink")),
    (2, ["What color do you get by mixing red and blue?"], text("purple", ["violet"])),
    (1, ["What is frozen water called?"], text("ice")),
    (2, ["What is the main ingredient in guacamole?"], text("avocado")),
    (1, ["What is the currency of the United States?"], text("dollar", ["dollars"])),
    (2, ["What is the currency of Japan?"], text("yen")),
    (2, ["What is the currency of the United Kingdom?"], text("pound", ["pounds", "pound sterling"])),
    (2, ["What is the currency of India?"], text("rupee", ["rupees"])),
    (2, ["What currency is used in Germany?"], text("euro", ["euros"])),
    (3, ["What is the currency of Mexico?"], text("peso", ["pesos"])),
    (3, ["What is the currency of Switzerland?"], text("franc", ["francs"])),
    (3, ["What is the currency of China?"], text("yuan", ["renminbi"])),
    (2, ["What language is mainly spoken in Brazil?"], text("Portuguese")),
    (2, ["What language do most people speak in Argentina?"], text("Spanish")),
    (2, ["What is the main language of Austria?"], text("German")),
    (2, ["What language is spoken in the Netherlands?"], text("Dutch")),
    (3, ["What is the main language spoken in Egypt?"], text("Arabic")),
    (3, ["What is the official language of Iran?"], text("Persian", ["Farsi"])),
    # opposites
    (1, ["What is the opposite of hot?"], text("cold")),
    (1, ["What's the opposite of up?"], text("down")),
    (1, ["What is the opposite of day?"], text("night")),
    (1, ["What's the opposite of north?"], text("south")),
    (1, ["What is the opposite of full?"], text("empty")),
    (2, ["What is the opposite of push?"], text("pull")),
    (2, ["What's the opposite of early?"], text("late")),
    (2, ["What is the opposite of wet?"], text("dry")),
    (2, ["What is the opposite of buy?"], text("sell")),
    (3, ["What's the opposite of ancient?"], text("modern", ["new", "recent"])),
    (3, ["What's the opposite of generous?"], text("stingy", ["selfish", "ungenerous", "miserly", "greedy"])),
    (3, ["What is the opposite of rural?"], text("urban")),
]


def one_word(answer):
    return " " not in answer["value"]


def facts(f):
    rng = f.rng
    for level, rows in CAPITALS.items():
        for country, city, alts in rows:
            a = text(city, alts)
            p = pick(rng, CAPITAL_T).format(c=country)
            f.add(level, ask(rng, p, ONE_WORD if one_word(a) else SHORT), a)
    for level, rows in CAPITAL_REVERSE.items():
        for city, country, alts in rows:
            a = text(country, alts)
            f.add(level, ask(rng, pick(rng, CAPITAL_REVERSE_T).format(city=city), ONE_WORD), a)
    for level, rows in BOOKS.items():
        for book, author, alts in rows:
            f.add(level, ask(rng, pick(rng, BOOK_T).format(b=book), SHORT), text(author, alts))
    for element, symbol, level in ELEMENTS:
        p = pick(rng, ELEMENT_T).format(e=element)
        p = p[0].upper() + p[1:]
        f.add(level, ask(rng, p, ["", "", " Reply with just the symbol.", " Just the symbol."]),
              text(symbol, case=True))
    for symbol, element, level in SYMBOL_REVERSE:
        f.add(level, ask(rng, pick(rng, SYMBOL_REVERSE_T).format(s=symbol), ONE_WORD), text(element))
    for level, phrasings, a in MISC:
        p = casual(rng, pick(rng, phrasings))
        if a["kind"] == "number":
            suffixes = NUM_SUFFIX
        else:
            suffixes = ONE_WORD if one_word(a) else SHORT
        f.add(level, ask(rng, p, suffixes), a)


# ---------------------------------------------------------------------------------------------
# spelling_words
# ---------------------------------------------------------------------------------------------

WORDS = [
    # short (3-4 letters)
    "cat", "dog", "sun", "hat", "pen", "cup", "box", "red", "map", "bus", "fox", "jam", "bed", "owl",
    "fish", "bird", "tree", "book", "door", "milk", "frog", "lamp", "cake", "rain", "moon", "star",
    "ship", "desk", "coin", "wolf", "kite", "ring", "road", "sock", "bell", "hill",
    # medium (5-7)
    "house", "table", "chair", "green", "water", "bread", "tiger", "zebra", "pencil", "garden",
    "window", "orange", "rabbit", "yellow", "winter", "summer", "guitar", "monkey", "planet",
    "basket", "candle", "purple", "kitchen", "morning", "picture", "blanket", "chicken", "dolphin",
    "teacher", "library", "pocket", "bottle", "flower", "rocket", "silver", "castle", "jacket",
    "banana", "carpet", "market",
    # long (8+)
    "elephant", "umbrella", "computer", "sandwich", "mountain", "dinosaur", "hospital", "birthday",
    "chocolate", "butterfly", "newspaper", "telephone", "vegetable", "adventure", "basketball",
    "strawberry", "television", "restaurant", "helicopter", "crocodile", "watermelon", "pineapple",
    "kangaroo", "breakfast", "celebration", "temperature", "refrigerator", "encyclopedia",
    "photograph", "committee", "necessary", "accommodation", "Wednesday", "February", "Mississippi",
    "grasshopper", "playground", "blueberry", "notebook", "toothbrush",
]

PLURALS = {
    1: [("cat", "cats"), ("dog", "dogs"), ("book", "books"), ("tree", "trees"), ("car", "cars"),
        ("apple", "apples"), ("chair", "chairs"), ("house", "houses"), ("bird", "birds"), ("pen", "pens"),
        ("cup", "cups"), ("door", "doors"), ("shoe", "shoes"), ("girl", "girls"), ("boy", "boys"),
        ("key", "keys"), ("day", "days"), ("toy", "toys"), ("flower", "flowers"), ("table", "tables")],
    2: [("box", "boxes"), ("bus", "buses"), ("church", "churches"), ("dish", "dishes"), ("glass", "glasses"),
        ("fox", "foxes"), ("watch", "watches"), ("wish", "wishes"), ("city", "cities"), ("baby", "babies"),
        ("party", "parties"), ("story", "stories"), ("cherry", "cherries"), ("leaf", "leaves"),
        ("knife", "knives"), ("wolf", "wolves"), ("half", "halves"), ("life", "lives"),
        ("potato", "potatoes"), ("tomato", "tomatoes"), ("hero", "heroes"), ("wife", "wives"),
        ("loaf", "loaves"), ("shelf", "shelves"), ("thief", "thieves"), ("calf", "calves")],
    3: [("mouse", "mice"), ("child", "children"), ("person", "people"), ("goose", "geese"),
        ("tooth", "teeth"), ("foot", "feet"), ("man", "men"), ("woman", "women"), ("ox", "oxen"),
        ("cactus", "cacti", ["cactuses"]), ("criterion", "criteria"), ("phenomenon", "phenomena"),
        ("analysis", "analyses"), ("crisis", "crises"), ("thesis", "theses"), ("fungus", "fungi", ["funguses"]),
        ("nucleus", "nuclei"), ("louse", "lice"), ("alumnus", "alumni"), ("radius", "radii", ["radiuses"]),
        ("stimulus", "stimuli"), ("larva", "larvae"), ("vertebra", "vertebrae"), ("basis", "bases"),
        ("diagnosis", "diagnoses"), ("oasis", "oases"), ("axis", "axes")],
}

ORDINAL_WORD = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth",
                7: "seventh", 8: "eighth", 9: "ninth", 10: "tenth", 11: "eleventh", 12: "twelfth",
                13: "thirteenth", 14: "fourteenth", 15: "fifteenth", 16: "sixteenth",
                17: "seventeenth", 18: "eighteenth", 19: "nineteenth", 20: "twentieth"}


def ordinal(n):
    if 10 <= n % 100 <= 20:
        suf = "th"
    else:
        suf = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suf}"


def by_len(level):
    lo, hi = {1: (3, 4), 2: (5, 7), 3: (8, 99)}[level]
    return [w for w in WORDS if lo <= len(w) <= hi]


def spelling_words(f):
    rng = f.rng

    def quoted(rng, w):
        return pick(rng, ["'{}'", '"{}"', "{}", "“{}”"]).format(w)

    def backwards(level):
        def make(rng):
            w = pick(rng, by_len(level)).lower()
            r = w[::-1]
            if r == w:
                return None
            t = pick(rng, ["Spell {w} backwards.", "What is {w} spelled backwards?", "Write the word {w} in reverse.",
                           "reverse the letters of {w}", "Can you spell {w} backwards?"])
            return t.format(w=quoted(rng, w)), text(r, [" ".join(r)]), ("rev", w)

        return make

    def first_letter(level):
        def make(rng):
            w = pick(rng, by_len(level))
            c = w[0].lower()
            if c not in LETTERS:
                return None
            t = pick(rng, ["What is the first letter of {w}?", "What letter does {w} start with?",
                           "First letter of the word {w}?", "which letter does the word {w} begin with"])
            return ask(rng, t.format(w=quoted(rng, w)), ["", "", " Just the letter."]), letter(c), ("first", w)

        return make

    def last_letter(level):
        def make(rng):
            w = pick(rng, by_len(level))
            c = w[-1].lower()
            if c not in LETTERS:
                return None
            t = pick(rng, ["What is the last letter of {w}?", "What letter does {w} end with?",
                           "Last letter of the word {w}?", "which letter does the word {w} end in"])
            return ask(rng, t.format(w=quoted(rng, w)), ["", "", " Just the letter."]), letter(c), ("last", w)

        return make

    def count_letters(level):
        def make(rng):
            w = pick(rng, by_len(level))
            t = pick(rng, ["How many letters are in the word {w}?", "How many letters does {w} have?",
                           "count the letters in {w}", "How long is the word {w}, in letters?"])
            return ask(rng, t.format(w=quoted(rng, w)), NUM_SUFFIX), num(len(w)), ("len", w)

        return make

    def count_occurrences(level):
        def make(rng):
            w = pick(rng, by_len(2) if level == 2 else by_len(3)).lower()
            counts = collections.Counter(w)
            repeated = [c for c in counts if counts[c] >= 2]
            if level == 3 and not repeated:
                return None
            c = pick(rng, repeated if (level == 3 or (repeated and rng.random() < 0.5)) else sorted(counts))
            t = pick(rng, ["How many times does the letter {c} appear in {w}?", "How many {c}'s are in {w}?",
                           "Count the letter {c} in the word {w}.", "how many times is {c} in {w}"])
            qc = c if "{c}'s" in t else quoted(rng, c)
            return ask(rng, t.format(c=qc, w=quoted(rng, w)), NUM_SUFFIX), num(counts[c]), ("count", w, c)

        return make

    def nth_letter(level):
        def make(rng):
            w = pick(rng, by_len(2) if level == 2 else by_len(3)).lower()
            n = rng.randint(2, 3) if level == 2 else rng.randint(3, min(len(w) - 1, 9))
            c = w[n - 1]
            if c not in LETTERS:
                return None
            ordw = ORDINAL_WORD[n] if rng.random() < 0.6 else ordinal(n)
            t = pick(rng, ["What is the {o} letter of {w}?", "What's the {o} letter in the word {w}?",
                           "In {w}, which letter comes {o}?"])
            return ask(rng, t.format(o=ordw, w=quoted(rng, w)), ["", " Just the letter."]), letter(c), ("nth", w, n)

        return make

    def plural(level):
        def make(rng):
            entry = pick(rng, PLURALS[level])
            w, p = entry[0], entry[1]
            alts = entry[2] if len(entry) > 2 else []
            t = pick(rng, ["What is the plural of {w}?", "plural of {w}?", "What's the plural form of {w}?",
                           "How do you say {w} in the plural?", "One {w}, two ...? Give the plural."])
            return ask(rng, t.format(w=quoted(rng, w)), ONE_WORD), text(p, alts), ("plural", w)

        return make

    def alphabet(level):
        def make(rng):
            abc = "abcdefghijklmnopqrstuvwxyz"
            if level == 1:
                k = rng.randrange(0, 25)
                x, c = abc[k], abc[k + 1]
                t = pick(rng, ["What letter comes after {x} in the alphabet?", "Which letter follows {x}?",
                               "what comes after {x} in the alphabet"])
            elif level == 2:
                k = rng.randrange(1, 26)
                x, c = abc[k], abc[k - 1]
                t = pick(rng, ["What letter comes before {x} in the alphabet?", "Which letter is just before {x}?",
                               "what letter comes right before {x}"])
            else:
                k = rng.randrange(4, 26)
                c = abc[k]
                if c not in LETTERS:
                    return None
                t = pick(rng, ["What is the {o} letter of the English alphabet?", "Which letter is number {n} in the alphabet?"])
                return ask(rng, t.format(o=ordinal(k + 1), n=k + 1), ["", " Just the letter."]), letter(c), ("abc", k)
            if c not in LETTERS:
                return None
            up = x.upper() if rng.random() < 0.7 else x
            return ask(rng, t.format(x=up), ["", " Just the letter."]), letter(c, exclude=[x]), ("abc", level, x)

        return make

    def vowels(level):
        def make(rng):
            w = pick(rng, by_len(level) if level > 1 else by_len(1) + by_len(2)).lower()
            if "y" in w:
                return None
            n = sum(ch in "aeiou" for ch in w)
            t = pick(rng, ["How many vowels are in the word {w}?", "Count the vowels in {w}.",
                           "how many vowels does {w} have"])
            return ask(rng, t.format(w=quoted(rng, w)), NUM_SUFFIX), num(n), ("vowels", w)

        return make

    plan = {
        1: [(backwards(1), 14), (first_letter(1), 16), (last_letter(1), 14), (count_letters(1), 16),
            (plural(1), 18), (alphabet(1), 22)],
        2: [(backwards(2), 14), (first_letter(2), 8), (last_letter(2), 12), (count_letters(2), 14),
            (count_occurrences(2), 12), (nth_letter(2), 10), (plural(2), 18), (alphabet(2), 4), (vowels(2), 8)],
        3: [(backwards(3), 16), (last_letter(3), 12), (count_letters(3), 16), (count_occurrences(3), 16),
            (nth_letter(3), 12), (plural(3), 13), (alphabet(3), 7), (vowels(3), 8)],
    }
    for level, tasks in plan.items():
        for make, n in tasks:
            f.fill(level, n, make)


# ---------------------------------------------------------------------------------------------
# sentiment
# ---------------------------------------------------------------------------------------------

SENT_NOUNS = {
    "product": ["blender", "backpack", "phone case", "coffee maker", "desk lamp", "vacuum cleaner", "kettle",
                "keyboard", "water bottle", "air fryer", "office chair", "rain jacket", "toaster",
                "electric toothbrush", "yoga mat", "suitcase", "smartwatch", "speaker", "frying pan",
                "hair dryer", "power bank", "headset"],
    "media": ["movie", "film", "series", "show", "documentary", "sequel", "miniseries", "thriller", "comedy",
              "cartoon"],
    "place": ["restaurant", "café", "pizza place", "bakery", "bar", "sushi place", "bistro", "diner",
              "taco place", "tea room"],
}

SENT = {
    # level 1: blatant
    (1, "positive"): {
        "any": ["Absolutely love this {x}! Best decision I've made all year.",
                "This {x} is amazing. I'd recommend it to anyone.",
                "Five stars! The {x} is fantastic and exceeded all my expectations.",
                "Wow, what a great {x}. I'm so happy!",
                "I adore this {x}. Brilliant from start to finish.",
                "Perfect {x}. Couldn't be happier!",
                "Outstanding! Easily the best {x} I've ever tried.",
                "Excellent {x}, totally worth it. Love love love it."],
        "product": ["Works perfectly and feels super well made. Great {x}!",
                    "Best {x} I've ever bought, worth every penny."],
        "media": ["What a masterpiece. I loved every minute of this {x}.",
                  "Hilarious, moving and beautifully made. A wonderful {x}!"],
        "place": ["Friendly staff, delicious food and a lovely atmosphere. Wonderful {x}!",
                  "Our new favourite {x}. Everything was perfect and we'll definitely be back."],
    },
    (1, "negative"): {
        "any": ["Terrible {x}. Total waste of money.",
                "Worst {x} ever. Avoid!",
                "I hate this {x}. Complete garbage, one star.",
                "Absolutely dreadful {x}. Avoid at all costs.",
                "Zero stars if I could. This {x} is a disaster.",
                "Awful, awful {x}. I regret it so much.",
                "Horrible {x}. Never again.",
                "What a terrible {x}. So disappointed and angry."],
        "product": ["Broke after two days. Worst {x} I have ever bought.",
                    "Cheap junk. The {x} stopped working on day one and I want a refund."],
        "media": ["Boring, badly acted and way too long. An awful {x}.",
                  "I walked out halfway. This {x} is a complete mess."],
        "place": ["Rude staff, cold food and a dirty table. Horrible {x}.",
                  "The worst {x} in town. We waited an hour and left hungry."],
    },
    # level 2: mild, no strong words
    (2, "positive"): {
        "any": ["Pretty good {x}. I'd probably get it again.",
                "Nice enough {x}, no real complaints.",
                "Solid {x}. Does what I need.",
                "Not bad at all. I'm glad I gave this {x} a try.",
                "The {x} was a pleasant surprise.",
                "I liked the {x} more than I expected to."],
        "product": ["Decent {x} for the price and it seems sturdy.",
                    "The {x} does the job, and it was easy to set up."],
        "media": ["An enjoyable {x}. A few slow parts, nothing serious.",
                  "A fun {x} to watch on a lazy Sunday."],
        "place": ["Good coffee, comfy seats. A nice little {x}.",
                  "Reasonable prices and friendly people at this {x}."],
    },
    (2, "negative"): {
        "any": ["A bit disappointing. I expected more from this {x}.",
                "Meh. The {x} is not really worth it.",
                "Not great. I probably won't be coming back to this {x}.",
                "The {x} was underwhelming, to be honest.",
                "I wanted to like this {x}, but it just didn't work for me.",
                "Hard to recommend this {x}."],
        "product": ["The {x} feels flimsy and is smaller than the photos suggest.",
                    "The {x} is noisier than I'd like, so I'll probably return it."],
        "media": ["The {x} dragged on and I kept checking my phone.",
                  "Forgettable {x}. I can barely remember the plot."],
        "place": ["The {x} was overpriced and a bit too loud for us.",
                  "Slow service at the {x}, and the portions were small."],
    },
}

# level 3: a contrast. The minor clause has the other sentiment, the major clause decides.
CONTRAST = {
    "product": {
        "minor_neg": ["the delivery took ages", "the box arrived a bit dented", "the instructions are confusing",
                      "it's more expensive than similar ones", "the colour is slightly off from the photos"],
        "minor_pos": ["the {x} looks gorgeous", "the packaging was lovely", "it arrived a day early",
                      "the price was great", "the first impression was really good"],
        "major_pos": ["the {x} itself is excellent and I use it every day",
                      "it works perfectly and I'd happily buy it again",
                      "I absolutely love the {x} now that it's set up",
                      "the quality is outstanding and it was worth every penny"],
        "major_neg": ["the {x} stopped working after a week and support never replied",
                      "it broke the second time I used it, so it's going straight back",
                      "honestly the {x} is useless and I regret buying it",
                      "it fell apart within days and I want my money back"],
    },
    "media": {
        "minor_neg": ["the first half is a bit slow", "the ending felt rushed", "it's too long",
                      "some of the jokes fall flat", "the trailer made me expect something else"],
        "minor_pos": ["the {x} has a great cast", "the music is nice", "the opening scene is clever",
                      "it looks beautiful", "the reviews were glowing"],
        "major_pos": ["overall the {x} is wonderful and I'd watch it again tomorrow",
                      "the {x} is brilliant and I was hooked until the end",
                      "it's one of the best things I've seen this year",
                      "I loved it and I've already recommended it to all my friends"],
        "major_neg": ["the story is a mess and I was bored the whole time",
                      "overall the {x} is dull and a waste of an evening",
                      "I couldn't wait for it to end and I'd never recommend it",
                      "the {x} is painfully bad and I regret watching it"],
    },
    "place": {
        "minor_neg": ["we had to wait twenty minutes for a table", "parking is a nightmare",
                      "it's a little pricey", "the music was a bit loud", "the menu is short"],
        "minor_pos": ["the {x} is beautifully decorated", "the location is convenient",
                      "the staff were polite", "the prices look reasonable", "the photos online look great"],
        "major_pos": ["the food was fantastic and we'll definitely be back",
                      "the {x} was absolutely worth it and it's now our favourite",
                      "everything we tried was delicious and the service was lovely",
                      "we had a wonderful evening and I'd recommend the {x} to anyone"],
        "major_neg": ["the food was cold and bland and we won't be going back",
                      "the {x} was dirty and the staff ignored us all evening",
                      "we got food poisoning and I'd never recommend the {x}",
                      "it was a miserable experience from start to finish"],
    },
}

SENT_PROMPTS_2 = [
    "Is this review positive or negative?\n\"{r}\"",
    "Classify the sentiment of this review as positive or negative: {r}",
    "Review: \"{r}\"\nSentiment (positive/negative)?",
    "{r}\n\nWas this customer happy? Answer positive or negative.",
    "What's the sentiment here, positive or negative? {r}",
    "sentiment of this review (positive or negative): {r}",
    "Label this review positive or negative.\n\n{r}",
    "Tell me if this review is positive or negative: \"{r}\"",
]
SENT_PROMPTS_3 = [
    "Label the sentiment as positive, negative or neutral: \"{r}\"",
    "Is this review positive, negative or neutral?\n{r}",
    "Sentiment (positive / negative / neutral)? \"{r}\"",
    "Classify this customer review as positive, negative, or neutral: {r}",
]


def sentiment(f):
    def make_level(level):
        def make(rng):
            gold = ["positive", "negative"][sum(r["level"] == level for r in f.rows) % 2]
            cat = pick(rng, sorted(SENT_NOUNS))
            x = pick(rng, SENT_NOUNS[cat])
            if level < 3:
                pool = SENT[(level, gold)]
                phrases = pool["any"] + pool[cat]
                r = pick(rng, phrases).format(x=x)
                if level == 1 and rng.random() < 0.4:
                    second = pick(rng, phrases).format(x=x)
                    if second == r:
                        return None
                    r = r + " " + second
            else:
                c = CONTRAST[cat]
                minor = pick(rng, c["minor_neg"] if gold == "positive" else c["minor_pos"]).format(x=x)
                major = pick(rng, c["major_pos"] if gold == "positive" else c["major_neg"]).format(x=x)
                form = rng.random()
                if form < 0.6:
                    r = f"{minor[0].upper()}{minor[1:]}, but {major}."
                elif form < 0.8:
                    r = f"Although {minor}, {major}."
                else:
                    r = f"Sure, {minor}. But {major}."
            if rng.random() < 0.25:
                labels = ["positive", "negative", "neutral"]
                p = pick(rng, SENT_PROMPTS_3).format(r=r)
            else:
                labels = ["positive", "negative"]
                p = pick(rng, SENT_PROMPTS_2).format(r=r)
            return ask(rng, p, ONE_WORD), label(gold, labels), r

        return make

    for level in (1, 2, 3):
        f.fill(level, 80, make_level(level))


# ---------------------------------------------------------------------------------------------
# topic
# ---------------------------------------------------------------------------------------------

TOPICS = ["sports", "politics", "technology", "food", "health", "finance", "weather", "travel"]
NAMES = ["Maria Lopez", "James Carter", "Aisha Bello", "Tom Fischer", "Priya Raman", "Lucas Moreau",
         "Chen Wei", "Sofia Rossi", "Daniel Kim", "Emma Novak", "Omar Haddad", "Hannah Berg",
         "Mateo Silva", "Grace Obi", "Lena Vogel", "Ravi Patel", "Julia Santos", "Noah Becker",
         "Yuki Tanaka", "Elena Petrova"]
TEAMS = ["Riverside United", "the Harbor City Hawks", "North Park Rovers", "the Lakeside Lions",
         "Westfield Athletic", "the Bay Sharks", "Eastbrook FC", "the Mountain Rams"]
CITIES = ["Lisbon", "Toronto", "Nairobi", "Osaka", "Melbourne", "Denver", "Lyon", "Porto", "Krakow",
          "Seville", "Chicago", "Dublin", "Vienna", "Bangkok", "Auckland", "Cape Town", "Hamburg",
          "Valencia", "Montreal", "Edinburgh", "Prague", "Oslo", "Athens", "Boston"]
COMPANIES = ["Norvex", "Brightline", "Quillon", "Zentri", "Halvard", "Corvia", "Pellix", "Tandem Labs",
             "Orbyte", "Lumen Systems", "Kestrel", "Vantara"]

# Slots: {name} {name2} {team} {team2} {city} {company} {day} {n} (a small number) {pct}.
TOPIC_TEXT = {
    "sports": {
        1: ["{team} won the football match against {team2} thanks to a late goal.",
            "{name} won the gold medal in the 100 metres sprint at the Olympics.",
            "The basketball season starts on {day}, and {team} are favourites to win the league.",
            "{name} scored a hat-trick as {team} beat {team2} 5-0 in the league.",
            "The tennis final between {name} and {name2} lasted almost four hours.",
            "{team} lost the cup final to {team2} after a penalty shootout."],
        2: ["{name} finished second in {city}, just behind last year's winner.",
            "After ninety minutes the score was still 1-1, so {team} and {team2} went to penalties.",
            "{team} have signed a new goalkeeper on a {n}-year contract.",
            "{name} has now won the {city} marathon {n} years in a row.",
            "{team} are unbeaten in their last {n} games."],
        3: ["{name} needed just two sets to knock out the top seed in {city}.",
            "The referee's decision in stoppage time left {team} fans furious.",
            "{name} was left out of the squad for {day}'s game after missing training twice.",
            "With two laps to go, {name} overtook {name2} on the final bend.",
            "{name2} came off the bench and equalised for {team} in the {n}0th minute."],
    },
    "politics": {
        1: ["The president signed the new law after a vote in parliament on {day}.",
            "{name} won the election and will become the next prime minister.",
            "Voters in {city} go to the polls on {day} to elect a new mayor.",
            "The government says parliament will debate the immigration bill next week, and {name} will lead for the opposition.",
            "The two main parties held a televised debate in {city} ahead of the election."],
        2: ["The opposition called for a vote of no confidence in {name}'s cabinet.",
            "{name} resigned as foreign minister after weeks of pressure.",
            "Lawmakers voted 5{n} to 4{n} to confirm the new supreme court judge.",
            "Senator {name} announced a run for governor next year.",
            "The mayor of {city} vetoed the council's plan on {day}."],
        3: ["{name} conceded defeat late on {day} night and thanked the campaign volunteers.",
            "The coalition collapsed after the two junior partners walked out of talks with {name}.",
            "Both candidates spent the final weekend of the campaign in {city}.",
            "The bill now goes to the upper house, where {name} says its chances look slim.",
            "{name} will be sworn in as the new speaker on {day}."],
    },
    "technology": {
        1: ["The new smartphone from {company} has a faster processor and a better camera.",
            "{company} released a software update that fixes {n} security bugs in its app.",
            "Engineers at {company} built an AI chatbot that can write computer code.",
            "The new {company} laptop comes with 16 GB of memory and a 1 TB solid-state drive.",
            "{company} launched a new operating system for its tablets and computers on {day}."],
        2: ["{company} says its new chip uses {pct}% less power than the previous generation.",
            "Millions of users could not log in after {company}'s cloud service went down for {n} hours.",
            "The {company} update adds dark mode and lets you unlock the device with your face.",
            "{company} is testing a battery that charges fully in {n} minutes.",
            "{company} opened a new software lab in {city} to work on robotics."],
        3: ["Version {n}.0 drops support for older devices and rewrites the sync engine from scratch.",
            "A bug in {company}'s login page let anyone reset another user's password.",
            "The team moved all of {company}'s servers to a new data centre in {city} over the weekend.",
            "Pre-orders open {day}; the {company} headset ships with two controllers and a charging dock.",
            "{name} wrote a script that backs up the whole database to the cloud every {n} hours."],
    },
    "food": {
        1: ["Preheat the oven, then bake the chocolate cake for {n}0 minutes.",
            "This pasta recipe uses garlic, tomatoes, basil and parmesan cheese, and serves {n}.",
            "The new restaurant in {city} serves the best pizza and ice cream in town.",
            "For breakfast {name} had scrambled eggs, toast and orange juice.",
            "{name} shared a favourite recipe for vegetable soup with fresh bread."],
        2: ["Let the dough rest for {n} hours before rolling it out.",
            "Add a pinch of salt and stir for {n} minutes until the sauce thickens.",
            "The chef in {city} changes the menu every season to use local produce.",
            "Slice the onions thinly and fry them until golden, about {n} minutes.",
            "{name} says the secret to good curry is toasting the spices first."],
        3: ["Marinate it overnight and serve with rice and a squeeze of lime for {n} people.",
            "The crust should be golden and the centre still slightly soft after {n}5 minutes.",
            "Our tasting menu in {city} has {n} courses, each paired with a different wine.",
            "Fold in the egg whites gently so the mixture stays light, then chill for {n} hours.",
            "{name} swapped the butter for olive oil and nobody at the table noticed."],
    },
    "health": {
        1: ["Doctors recommend at least {n}0 minutes of exercise a day to stay healthy.",
            "The hospital in {city} opened a new ward for heart patients.",
            "Drinking enough water and sleeping eight hours are good for your health, says Dr {name}.",
            "A new flu vaccine will be available at pharmacies and clinics in {city} next month.",
            "The doctor told {name} to rest and take medicine for the fever."],
        2: ["Patients with high blood pressure should cut down on salt, Dr {name} says.",
            "The clinic in {city} now offers free check-ups for people over 60.",
            "Regular stretching for {n} minutes a day can reduce back pain.",
            "Nurses in {city} say waiting times in the emergency room have doubled.",
            "{name} has been told to wear a brace on the sprained wrist for {n} weeks."],
        3: ["Symptoms usually start {n} days after exposure and include fever and a dry cough.",
            "The trial found the drug lowered cholesterol by {pct}% with few side effects.",
            "Take one tablet twice a day with food, and stop if you get a rash, {name} was told.",
            "{name}'s knee surgery went well, and physiotherapy starts on {day}.",
            "Dr {name} says {n} in 10 patients recover fully within a month."],
    },
    "finance": {
        1: ["The stock market fell sharply on {day} as investors sold bank shares.",
            "The central bank raised interest rates to fight inflation.",
            "{company} reported record profits of ${n} billion this quarter.",
            "Saving {pct}% of your salary each month is a good way to build an emergency fund.",
            "Shares of {company} rose {n}% on the stock exchange after strong earnings."],
        2: ["The dollar weakened against the euro on {day} after the jobs report.",
            "Mortgage rates have climbed {n} weeks in a row.",
            "{company}'s shares jumped {n}% after it raised its revenue forecast.",
            "Analysts expect {company} to cut its dividend next year.",
            "{name} opened a savings account with a {n}% interest rate."],
        3: ["The bond yield curve inverted again, which {name} sees as a warning sign.",
            "{name} moved half of their savings into an index fund with low fees.",
            "Quarterly revenue at {company} beat expectations, but the outlook disappointed investors.",
            "{company} plans to raise ${n}00 million by selling new shares.",
            "The pension fund cut its exposure to emerging markets by {pct}%."],
    },
    "weather": {
        1: ["Heavy rain and strong winds are expected in {city} tomorrow.",
            "It will be sunny and warm in {city} this weekend, with temperatures up to 2{n}°C.",
            "Snow is forecast for the mountains on {day} night, so drive carefully.",
            "The weather forecast says there will be thunderstorms in {city} on {day} afternoon.",
            "{city} had its hottest day of the year, with temperatures above 3{n}°C."],
        2: ["A cold front will bring frost to {city} overnight.",
            "Expect clear skies on {day} morning and light showers later in the day.",
            "The heatwave in {city} will continue until the end of the week.",
            "Fog may make driving difficult around {city} early tomorrow.",
            "It should stay dry in {city} until {day}, then turn cooler."],
        3: ["Take an umbrella: {day} afternoon looks grey, with a {pct}% chance of drizzle.",
            "The hurricane has weakened to a tropical storm and is moving north towards {city}.",
            "Overnight lows in {city} will dip below freezing for the first time this autumn.",
            "Gusts could reach {n}0 km/h along the coast by {day} evening.",
            "After {n} dry weeks, {city} finally saw some drizzle on {day}."],
    },
    "travel": {
        1: ["Our flight to {city} leaves at {n} am, so we need to be at the airport early.",
            "We booked a hotel near the beach for our summer holiday in {city}.",
            "Don't forget your passport and boarding pass before the trip to {city}.",
            "{name} is planning a two-week trip around {city} by train.",
            "The tourist guide showed us the best sights in {city} on our vacation."],
        2: ["Check-in for the {city} flight opens three hours before departure and closes one hour before.",
            "We spent {n} weeks backpacking through the islands near {city}.",
            "The {city} tour includes a guided walk through the old town and a boat trip.",
            "You will need a visa to stay in the country for more than 90 days, {name} warned.",
            "{name} swapped the hostel for a cheaper guesthouse near {city} station."],
        3: ["Our connection in {city} was only {n}0 minutes, so we ran to gate B12.",
            "The sleeper train reaches {city} at {n} am, just in time for sunrise over the old harbour.",
            "We left the rental car at the airport and took the ferry to the island on {day}.",
            "Pack light: the budget airline to {city} only allows one small bag under the seat.",
            "{name} got a window seat and an upgrade on the {day} flight home."],
    },
}

TOPIC_PROMPTS = [
    "What is this text about? Choose one of: {opts}.\n\n\"{t}\"",
    "Classify the topic ({opts}): {t}",
    "Which category fits best: {opts}?\n{t}",
    "{t}\n\nTopic? Pick from: {opts}.",
    "Label this with one topic from [{opts}]: {t}",
    "Pick the topic of the sentence below. Options: {opts}\n\n{t}",
    "topic of this text? ({opts})\n{t}",
]


def fill_slots(rng, t):
    n1 = pick(rng, NAMES)
    n2 = pick(rng, [n for n in NAMES if n != n1])
    t1 = pick(rng, TEAMS)
    t2 = pick(rng, [t for t in TEAMS if t != t1])
    day = pick(rng, ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"])
    s = t.format(name=n1, name2=n2, team=t1, team2=t2, city=pick(rng, CITIES), company=pick(rng, COMPANIES),
                 day=day, n=rng.randint(2, 9), pct=pick(rng, [5, 10, 15, 20, 25, 30, 40]))
    return s[0].upper() + s[1:]


def topic(f):
    def make_level(level):
        n_opts = {1: 3, 2: 5, 3: 8}[level]

        def make(rng):
            # Topics in turn, so each level has (nearly) the same number of each.
            gold = TOPICS[sum(r["level"] == level for r in f.rows) % len(TOPICS)]
            t = fill_slots(rng, pick(rng, TOPIC_TEXT[gold][level]))
            others = [x for x in TOPICS if x != gold]
            rng.shuffle(others)
            opts = [gold] + others[: n_opts - 1]
            rng.shuffle(opts)
            sep = pick(rng, [", ", ", ", " / "])
            p = pick(rng, TOPIC_PROMPTS).format(opts=sep.join(opts), t=t)
            return ask(rng, p, ONE_WORD), label(gold, opts), t

        return make

    for level in (1, 2, 3):
        f.fill(level, 80, make_level(level))


# ---------------------------------------------------------------------------------------------
# extraction
# ---------------------------------------------------------------------------------------------

FIRST = ["Maria", "James", "Aisha", "Tom", "Priya", "Lucas", "Wei", "Sofia", "Daniel", "Emma", "Omar",
         "Hannah", "Mateo", "Grace", "Lena", "Ravi", "Julia", "Noah", "Yuki", "Elena", "Kofi", "Ingrid",
         "Pablo", "Nadia", "Felix", "Amara", "Jonas", "Leila", "Sam", "Clara"]
LAST = ["Lopez", "Carter", "Bello", "Fischer", "Raman", "Moreau", "Chen", "Rossi", "Kim", "Novak",
        "Haddad", "Berg", "Silva", "Obi", "Vogel", "Patel", "Santos", "Becker", "Tanaka", "Petrova",
        "Mensah", "Larsen", "Ortega", "Karimi", "Wagner", "Osei", "Lindqvist", "Farouk", "Walsh", "Duarte"]
DOMAINS = ["northwind.com", "brightpath.io", "example.org", "lumenlabs.com", "harbor.co.uk", "quillon.net",
           "greenfield.org", "mailbox.com"]
SHOPS = ["Pellix Store", "HomeGoods Online", "Corvia Outdoor", "Kestrel Books", "Orbyte Electronics"]
HOTELS = ["Hotel Aurora", "The Grand Palm", "Harbour View Inn", "Casa Verde", "The Linden Hotel",
          "Seaside Lodge"]
RESTAURANTS = ["Luigi's Trattoria", "The Green Fork", "Sakura House", "Café Nova", "El Patio", "The Olive Tree"]
PRODUCTS = ["desk chairs", "monitors", "printer cartridges", "notebooks", "USB cables", "coffee mugs",
            "standing desks", "headsets"]
JOBS = ["software engineer", "architect", "nurse", "data analyst", "product designer", "teacher",
        "marketing manager", "civil engineer"]
# Cities for extraction: unambiguous names, none of them an ordinary English word.
EX_CITIES = ["Lisbon", "Toronto", "Nairobi", "Osaka", "Melbourne", "Denver", "Lyon", "Porto", "Krakow",
             "Seville", "Chicago", "Dublin", "Vienna", "Bangkok", "Auckland", "Cape Town", "Hamburg",
             "Valencia", "Montreal", "Edinburgh", "Prague", "Oslo", "Athens", "Boston", "Rotterdam",
             "Marseille", "Bologna", "Gdansk"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


class Date:
    def __init__(self, rng, year=None):
        self.d = rng.randint(1, 28)
        self.m = rng.randint(1, 12)
        self.y = year or rng.randint(2024, 2026)

    def written(self, style):
        M = MONTHS[self.m - 1]
        if style == 0:
            return f"{self.d} {M} {self.y}"
        return f"{M} {self.d}, {self.y}"

    def answer(self, style, wrong=()):
        """The date as written, plus the usual ways of writing it (with or without the year)."""
        M = MONTHS[self.m - 1]
        o = ordinal(self.d)
        forms = [f"{self.d} {M} {self.y}", f"{M} {self.d} {self.y}", f"{o} {M} {self.y}",
                 f"{o} of {M} {self.y}", f"{M} {o} {self.y}", f"{self.y}-{self.m:02d}-{self.d:02d}",
                 f"{self.d:02d}/{self.m:02d}/{self.y}", f"{self.m:02d}/{self.d:02d}/{self.y}",
                 f"{self.d} {M}", f"{M} {self.d}", f"{o} {M}", f"{o} of {M}", f"{M} {o}"]
        gold = self.written(style)
        return text(gold, [x for x in forms if x != gold], wrong=wrong)

    def wrong_forms(self):
        M = MONTHS[self.m - 1]
        o = ordinal(self.d)
        return [f"{self.d} {M}", f"{M} {self.d}", f"{o} {M}", f"{o} of {M}", f"{M} {o}",
                f"{self.y}-{self.m:02d}-{self.d:02d}"]

    def same_day(self, other):
        return (self.d, self.m) == (other.d, other.m) or self.d == other.d


def money(v, sym="$"):
    """$1,249.50 style."""
    if abs(v - round(v)) < 1e-9:
        return f"{sym}{int(round(v)):,}"
    return f"{sym}{v:,.2f}"


def person(rng, exclude=()):
    while True:
        fn, ln = pick(rng, FIRST), pick(rng, LAST)
        if fn not in [e[0] for e in exclude] and ln not in [e[1] for e in exclude]:
            return fn, ln


def email_of(rng, fn, ln):
    d = pick(rng, DOMAINS)
    return pick(rng, [f"{fn}.{ln}@{d}", f"{fn[0]}{ln}@{d}", f"{fn}{ln[0]}@{d}"]).lower()


EX_WRAP = [
    "{doc}\n\n{q}",
    "{q}\n\n{doc}",
    "Read this and answer: {q}\n---\n{doc}",
    "{doc}\n\nQuestion: {q}",
    "Here's a message I got:\n\n{doc}\n\n{q}",
]


def extraction(f):
    def wrap(rng, doc, question, suffix_pool=SHORT):
        return ask(rng, pick(rng, EX_WRAP).format(doc=doc, q=question), suffix_pool)

    # -- level 1: one short sentence or two, one field of the asked type --------------------
    def l1(rng):
        fn, ln = person(rng)
        name = f"{fn} {ln}"
        kind = rng.randrange(7)
        if kind == 0:
            e = email_of(rng, fn, ln)
            doc = pick(rng, [f"Hi, I'm {name}. You can email me at {e} if you have questions.",
                             f"For questions, contact {name} at {e}."])
            return wrap(rng, doc, pick(rng, [f"What is {fn}'s email address?", "What's the email address?"])), text(e)
        if kind == 1:
            n = rng.randint(2, 12)
            rest = pick(rng, RESTAURANTS)
            doc = f"Your table for {n} at {rest} is confirmed."
            return wrap(rng, doc, pick(rng, ["For how many people is the table?", "How many guests is the booking for?"]), NUM_SUFFIX), num(n)
        if kind == 2:
            city, year = pick(rng, EX_CITIES), rng.randint(1950, 2005)
            doc = f"{name} was born in {city} in {year}."
            if rng.random() < 0.5:
                return wrap(rng, doc, f"In which city was {fn} born?", ONE_WORD if " " not in city else SHORT), text(city)
            return wrap(rng, doc, f"In what year was {fn} born?", NUM_SUFFIX), num(year)
        if kind == 3:
            d = Date(rng)
            style = rng.randrange(2)
            doc = f"Good news! Your order from {pick(rng, SHOPS)} will arrive on {d.written(style)}."
            return wrap(rng, doc, pick(rng, ["When will the order arrive?", "What's the delivery date?"])), d.answer(style)
        if kind == 4:
            room = rng.randint(101, 499)
            doc = f"Reminder: today's meeting is in room {room}."
            return wrap(rng, doc, "Which room is the meeting in?", NUM_SUFFIX), num(room)
        if kind == 5:
            amt = rng.randint(20, 4000) + pick(rng, [0, 0, 0.5, 0.99, 0.25])
            doc = f"Thanks for your purchase. The amount due is {money(amt)}."
            return wrap(rng, doc, pick(rng, ["How much is due?", "What is the amount due?"]), NUM_SUFFIX), num(amt)
        doc = f"This is {name}, calling about the apartment viewing."
        return wrap(rng, doc, "Who is calling?"), text(name, [fn])

    # -- level 2: a longer text with several fields of different types ----------------------
    def l2(rng):
        fn, ln = person(rng)
        name = f"{fn} {ln}"
        kind = rng.randrange(4)
        if kind == 0:
            inv = rng.randint(1000, 9999)
            qty = rng.randint(2, 40)
            unit = rng.randint(5, 300)
            total = qty * unit
            city = pick(rng, EX_CITIES)
            d = Date(rng)
            style = rng.randrange(2)
            prod = pick(rng, PRODUCTS)
            doc = (f"INVOICE #{inv}\nBilled to: {name}, {city}\nDate: {d.written(style)}\n"
                   f"Items: {qty} x {prod} at {money(unit)} each\nTotal due: {money(total)}\n"
                   f"Payment terms: {pick(rng, [14, 30, 45, 60])} days")
            which = rng.randrange(5)
            if which == 0:
                return wrap(rng, doc, "What is the total amount due?", NUM_SUFFIX), num(total)
            if which == 1:
                return wrap(rng, doc, f"How many {prod} were ordered?", NUM_SUFFIX), num(qty)
            if which == 2:
                return wrap(rng, doc, "Who is the invoice billed to?"), text(name, [ln])
            if which == 3:
                return wrap(rng, doc, "What is the invoice date?"), d.answer(style)
            return wrap(rng, doc, "Which city is the customer in?"), text(city)
        if kind == 1:
            hotel = pick(rng, HOTELS)
            city = pick(rng, EX_CITIES)
            d = Date(rng)
            style = rng.randrange(2)
            nights = rng.randint(2, 14)
            price = rng.randint(60, 400)
            room = pick(rng, ["double room", "twin room", "single room", "suite"])
            doc = (f"Booking confirmation\nGuest: {name}\nHotel: {hotel}, {city}\nCheck-in: {d.written(style)}\n"
                   f"Nights: {nights}\nRoom: {room}\nPrice per night: {money(price, '€')}\n"
                   f"Free cancellation up to {pick(rng, [24, 48, 72])} hours before arrival.")
            which = rng.randrange(5)
            if which == 0:
                return wrap(rng, doc, "How many nights is the stay?", NUM_SUFFIX), num(nights)
            if which == 1:
                return wrap(rng, doc, "Which city is the hotel in?"), text(city)
            if which == 2:
                return wrap(rng, doc, "What is the check-in date?"), d.answer(style)
            if which == 3:
                return wrap(rng, doc, "What is the price per night in euros?", NUM_SUFFIX), num(price)
            return wrap(rng, doc, "What is the guest's name?"), text(name, [ln])
        if kind == 2:
            e = email_of(rng, fn, ln)
            d = Date(rng)
            style = rng.randrange(2)
            city = pick(rng, EX_CITIES)
            seats = rng.randint(3, 30)
            topic = pick(rng, ["budgeting", "public speaking", "first aid", "Excel basics", "photography"])
            doc = (f"From: {name} <{e}>\nSubject: {topic} workshop\n\nHi all,\n\nThe {topic} workshop will take "
                   f"place on {d.written(style)} in our {city} office. There are {seats} seats left, so sign up soon. "
                   f"Lunch is at {pick(rng, ['12:30', '1:00', '12:00'])}.\n\nBest,\n{fn}")
            which = rng.randrange(4)
            if which == 0:
                return wrap(rng, doc, "What is the sender's email address?"), text(e)
            if which == 1:
                return wrap(rng, doc, "When is the workshop?"), d.answer(style)
            if which == 2:
                return wrap(rng, doc, "In which city is the workshop?"), text(city)
            return wrap(rng, doc, "How many seats are left?", NUM_SUFFIX), num(seats)
        company = pick(rng, COMPANIES)
        city = pick(rng, EX_CITIES)
        year = rng.randint(2005, 2023)
        team = rng.randint(3, 25)
        job = pick(rng, JOBS)
        e = email_of(rng, fn, ln)
        pron = pick(rng, [("She", "her"), ("He", "his")])
        doc = (f"{name} is a {job} based in {city}. {pron[0]} joined {company} in {year} and now leads a "
               f"team of {team} people. Office hours: 9 to 5. Contact: {e}")
        which = rng.randrange(5)
        if which == 0:
            return wrap(rng, doc, f"Which company does {fn} work for?"), text(company)
        if which == 1:
            return wrap(rng, doc, f"In what year did {fn} join the company?", NUM_SUFFIX), num(year)
        if which == 2:
            return wrap(rng, doc, f"How many people are in {pron[1]} team?", NUM_SUFFIX), num(team)
        if which == 3:
            return wrap(rng, doc, f"Where is {fn} based?"), text(city)
        return wrap(rng, doc, f"What is {fn}'s email?"), text(e)

    # -- level 3: two fields of the same type; the other one must not be given -------------
    def l3(rng):
        kind = rng.randrange(6)
        if kind == 0:
            c1 = pick(rng, EX_CITIES)
            c2 = pick(rng, [c for c in EX_CITIES if c != c1])
            d1, d2 = sorted([Date(rng, 2025), Date(rng, 2025)], key=lambda d: (d.m, d.d))
            if d1.same_day(d2):
                return None
            code = f"{pick(rng, ['TP', 'LX', 'KL', 'IB', 'AZ'])}{rng.randint(100, 999)}"
            s = rng.randrange(2)
            doc = (f"Your trip is confirmed.\nOutbound: flight {code} from {c1} to {c2} on {d1.written(s)}.\n"
                   f"Return: {c2} to {c1} on {d2.written(s)}.")
            which = rng.randrange(4)
            if which == 0:
                return wrap(rng, doc, "What is the destination city of the trip?"), text(c2, wrong=[c1])
            if which == 1:
                return wrap(rng, doc, "Which city does the trip start from?"), text(c1, wrong=[c2])
            if which == 2:
                return wrap(rng, doc, "What is the date of the return flight?"), d2.answer(s, d1.wrong_forms())
            return wrap(rng, doc, "On what date is the outbound flight?"), d1.answer(s, d2.wrong_forms())
        if kind == 1:
            sub = rng.randint(40, 900) + pick(rng, [0, 0.5, 0.99])
            ship = pick(rng, [4.99, 5, 7.5, 9.99, 12])
            tax = round(sub * pick(rng, [0.05, 0.08, 0.1, 0.2]), 2)
            total = round(sub + ship + tax, 2)
            doc = (f"Order summary\nSubtotal: {money(sub)}\nShipping: {money(ship)}\nTax: {money(tax)}\n"
                   f"Total: {money(total)}")
            which = rng.randrange(3)
            if which == 0:
                return wrap(rng, doc, "What is the subtotal?", NUM_SUFFIX), num(sub)
            if which == 1:
                return wrap(rng, doc, "How much is the tax?", NUM_SUFFIX), num(tax)
            return wrap(rng, doc, "How much is the shipping?", NUM_SUFFIX), num(ship)
        if kind == 2:
            d = pick(rng, DOMAINS)
            a, b = pick(rng, [("billing", "support"), ("accounts", "helpdesk"), ("invoices", "tech"), ("finance", "support")])
            e1, e2 = f"{a}@{d}", f"{b}@{d}"
            doc = (f"Thanks for signing up! For billing questions, email {e1}. For technical problems, "
                   f"write to {e2} and we'll reply within a day.")
            if rng.random() < 0.5:
                return wrap(rng, doc, "Which address should I email about a billing question?"), text(e1, wrong=[e2])
            return wrap(rng, doc, "Where do I send a technical problem?"), text(e2, wrong=[e1])
        if kind == 3:
            p1 = person(rng)
            p2 = person(rng, exclude=[p1])
            n1, n2 = " ".join(p1), " ".join(p2)
            doc = (f"Agenda for Thursday: {n1} will chair the meeting and {n2} will take the minutes. "
                   f"Please send topics by Wednesday.")
            if rng.random() < 0.5:
                return wrap(rng, doc, "Who is taking the minutes?"), text(n2, [p2[0]], wrong=[n1, p1[0]])
            return wrap(rng, doc, "Who will chair the meeting?"), text(n1, [p1[0]], wrong=[n2, p2[0]])
        if kind == 4:
            ds = [Date(rng, 2025)]
            while len(ds) < 3:
                d = Date(rng, 2025)
                if not any(d.same_day(x) for x in ds):
                    ds.append(d)
            ds.sort(key=lambda d: (d.m, d.d))
            s = rng.randrange(2)
            doc = (f"Order #{rng.randint(10000, 99999)}\nOrdered: {ds[0].written(s)}\nShipped: {ds[1].written(s)}\n"
                   f"Delivered: {ds[2].written(s)}")
            which = rng.randrange(3)
            question = ["When was the order placed?", "On what date was it shipped?", "When was it delivered?"][which]
            wrong = [w for k, d in enumerate(ds) if k != which for w in d.wrong_forms()]
            return wrap(rng, doc, question), ds[which].answer(s, wrong)
        p1 = person(rng)
        p2 = person(rng, exclude=[p1])
        a1, a2 = rng.randint(20, 60), rng.randint(20, 60)
        if a1 == a2:
            return None
        doc = (f"{p1[0]} {p1[1]} is {a1} years old, and their colleague {p2[0]} {p2[1]} is {a2}. "
               f"They have worked together for {rng.randint(2, 15)} years.")
        if rng.random() < 0.5:
            return wrap(rng, doc, f"How old is {p2[0]}?", NUM_SUFFIX), num(a2)
        return wrap(rng, doc, f"How old is {p1[0]}?", NUM_SUFFIX), num(a1)

    f.fill(1, 80, l1)
    f.fill(2, 80, l2)
    f.fill(3, 80, l3)


# ---------------------------------------------------------------------------------------------
# format_conversion
# ---------------------------------------------------------------------------------------------

PHRASES_SHORT = ["good morning", "thank you", "see you soon", "happy birthday", "welcome back", "best regards",
                 "sale today", "no parking", "keep calm", "well done", "good luck", "open late", "order now",
                 "big news", "on my way", "coffee break", "fresh bread", "exit only", "free shipping",
                 "lunch time", "new message", "top secret", "game over", "hello world"]
PHRASES_LONG = ["the quick brown fox", "meeting moved to friday", "please call me back", "out of office until monday",
                "thank you very much", "see you at the station", "all items half price", "do not disturb please",
                "the store closes at nine", "your order has shipped", "check the attached file",
                "happy new year everyone", "remember to bring snacks", "the train is delayed again",
                "save the date for june", "room booked for two nights"]
PHRASES_PUNCT = ["order #4521 ships monday!", "room 12b is free.", "call me at 5, ok?", "v2 release: done",
                 "it's 3 pm in tokyo.", "don't forget the 2 forms!", "flight ba117 is on time.",
                 "meet at gate 7, not 9.", "wifi password: sunny42", "item 3 of 10 is missing!"]
WORD_LISTS = ["apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "plum", "kiwi", "melon",
              "red", "blue", "green", "yellow", "purple", "orange", "pink", "brown", "cat", "dog", "horse",
              "sheep", "goat", "duck", "mouse", "tiger", "chair", "table", "lamp", "sofa", "shelf", "desk"]
SNAKE_PHRASES = ["user id", "first name", "last login date", "order total", "is active", "created at",
                 "max retry count", "shipping address", "phone number", "account balance", "start time",
                 "page size", "email verified", "total price", "zip code", "user account id"]


def title_words(s):
    return " ".join(w.capitalize() for w in s.split())


def format_conversion(f):
    def quoted(rng, s):
        return pick(rng, ['"{}"', "'{}'", "“{}”", "{}", "`{}`"]).format(s)

    def case_conv(level):
        def make(rng):
            pool = {1: PHRASES_SHORT, 2: PHRASES_LONG, 3: PHRASES_PUNCT}[level]
            s = pick(rng, pool)
            if rng.random() < 0.5:
                src = pick(rng, [s, title_words(s)]) if level < 3 else s
                v = s.upper()
                t = pick(rng, ["Convert {s} to uppercase.", "Make this all caps: {s}", "Write {s} in capital letters.",
                               "uppercase this: {s}", "Can you put {s} in ALL CAPS?"])
            else:
                src = pick(rng, [s.upper(), title_words(s)])
                v = s
                t = pick(rng, ["Convert {s} to lowercase.", "Make this all lowercase: {s}", "lowercase this please: {s}",
                               "Write {s} in lower case letters."])
            if src == v:
                return None
            return t.format(s=quoted(rng, src)), exact(v), ("case", v)

        return make

    def time24(level):
        def make(rng):
            if level == 1:
                h = rng.randint(1, 11)
                m = 0
                pm = True
                src = f"{h} {pick(rng, ['PM', 'pm', 'p.m.'])}"
            elif level == 2:
                h = rng.randint(1, 11)
                m = pick(rng, [5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55])
                pm = True
                src = f"{h}:{m:02d} {'PM' if pm else 'AM'}"
            else:
                # 12 AM is 00:MM; a one-digit morning hour needs its leading zero. (12 PM and
                # 10-11 AM are left out: their answer is the input itself.)
                m = pick(rng, [0, 5, 15, 20, 30, 45, 50])
                if rng.random() < 0.35:
                    h, pm = 12, False
                else:
                    h, pm = rng.randint(1, 9), False
                src = f"{h}:{m:02d} {'PM' if pm else 'AM'}"
            hh = (h % 12) + (12 if pm else 0)
            v = f"{hh:02d}:{m:02d}"
            t = pick(rng, ["Convert {s} to 24-hour time (HH:MM).", "What is {s} in 24-hour format? Use HH:MM.",
                           "{s} in military time? Format HH:MM.", "Write {s} as a 24-hour clock time, HH:MM."])
            return t.format(s=src), exact(v), ("time", v)

        return make

    def dates(level):
        def make(rng):
            d = Date(rng, rng.randint(2020, 2030))
            iso = f"{d.y}-{d.m:02d}-{d.d:02d}"
            dmy = f"{d.d:02d}/{d.m:02d}/{d.y}"
            mdy = f"{d.m:02d}/{d.d:02d}/{d.y}"
            if d.d == d.m:
                return None
            if level == 2:
                if rng.random() < 0.5:
                    t = pick(rng, ["Convert {s} to DD/MM/YYYY.", "Rewrite the date {s} as DD/MM/YYYY.",
                                   "{s} in day/month/year format (DD/MM/YYYY)?"])
                    return t.format(s=iso), exact(dmy), ("dmy", iso)
                t = pick(rng, ["Convert {s} to MM/DD/YYYY.", "Rewrite the date {s} in US format, MM/DD/YYYY.",
                               "{s} as MM/DD/YYYY please"])
                return t.format(s=iso), exact(mdy), ("mdy", iso)
            k = rng.randrange(3)
            if k == 0:
                src = f"{MONTHS[d.m - 1]} {d.d}, {d.y}"
            elif k == 1:
                src = f"{d.d} {MONTHS[d.m - 1]} {d.y}"
            else:
                src = f"{dmy} (that's day/month/year)"
            t = pick(rng, ["Convert {s} to YYYY-MM-DD.", "Write {s} in ISO format (YYYY-MM-DD).",
                           "Rewrite the date {s} as YYYY-MM-DD."])
            return t.format(s=src), exact(iso), ("iso", iso)

        return make

    def reverse_words(level):
        def make(rng):
            n = {1: 3, 2: rng.randint(4, 5), 3: rng.randint(6, 7)}[level]
            ws = rng.sample(WORD_LISTS, n)
            sep = pick(rng, [", ", " "])
            t = pick(rng, ["Reverse the order of these words: {l}", "Write these words in reverse order: {l}",
                           "reverse this list: {l}", "Put these words in the opposite order: {l}"])
            return t.format(l=sep.join(ws)), text(", ".join(reversed(ws))), ("rev", tuple(ws))

        return make

    def sort_numbers(level):
        def make(rng):
            if level == 1:
                xs = rng.sample(range(0, 10), 3)
            elif level == 2:
                xs = rng.sample(range(1, 100), rng.randint(4, 5))
            else:
                xs = rng.sample(range(1, 1000), 6)
            desc = level == 3 and rng.random() < 0.4
            gold = sorted(xs, reverse=desc)
            if xs == gold:
                return None
            if desc:
                t = pick(rng, ["Sort these numbers from largest to smallest: {l}", "Order descending: {l}",
                               "put these in descending order: {l}"])
            else:
                t = pick(rng, ["Sort these numbers from smallest to largest: {l}", "Order ascending: {l}",
                               "sort ascending: {l}", "Put these numbers in increasing order: {l}"])
            return t.format(l=", ".join(map(str, xs))), seq(gold), ("sort", tuple(xs))

        return make

    def joins(level):
        def make(rng):
            if level == 1:
                ws = rng.sample(WORD_LISTS, rng.randint(2, 4))
                t = pick(rng, ["Join these words with hyphens: {l}", "Connect these words with dashes (-): {l}",
                               "join with hyphens: {l}"])
                return t.format(l=" ".join(ws)), exact("-".join(ws)), ("join", tuple(ws))
            s = pick(rng, SNAKE_PHRASES)
            ws = s.split()
            if len(ws) < 2:
                return None
            if level == 2:
                if rng.random() < 0.5:
                    t = pick(rng, ["Convert {s} to snake_case.", "Write {s} in snake_case.", "snake_case for {s}?"])
                    return t.format(s=quoted(rng, s)), exact("_".join(ws)), ("snake", s)
                t = pick(rng, ["Turn {s} into kebab-case.", "Write {s} in kebab-case."])
                return t.format(s=quoted(rng, s)), exact("-".join(ws)), ("kebab", s)
            if rng.random() < 0.6:
                t = pick(rng, ["Convert {s} to camelCase.", "Write {s} as a camelCase variable name.",
                               "camelCase version of {s}?"])
                return t.format(s=quoted(rng, s)), exact(ws[0] + "".join(w.capitalize() for w in ws[1:])), ("camel", s)
            t = pick(rng, ["Convert {s} to PascalCase.", "Write {s} in PascalCase.", "PascalCase for {s}?"])
            return t.format(s=quoted(rng, s)), exact("".join(w.capitalize() for w in ws)), ("pascal", s)

        return make

    plan = {
        1: [(case_conv(1), 30), (time24(1), 10), (reverse_words(1), 16), (sort_numbers(1), 18), (joins(1), 16)],
        2: [(case_conv(2), 22), (time24(2), 16), (dates(2), 16), (reverse_words(2), 12), (sort_numbers(2), 12),
            (joins(2), 12)],
        3: [(case_conv(3), 14), (time24(3), 16), (dates(3), 18), (reverse_words(3), 12), (sort_numbers(3), 14),
            (joins(3), 16)],
    }
    for level, tasks in plan.items():
        for make, n in tasks:
            f.fill(level, n, make)


# ---------------------------------------------------------------------------------------------
# yes_no
# ---------------------------------------------------------------------------------------------

YN_FACTS = {
    1: [("Is a whale a mammal?", True), ("Can penguins fly?", False), ("Is the Sun a star?", True),
        ("Do fish live in water?", True), ("Is fire hot?", True), ("Is the sky green on a clear day?", False),
        ("Do cows lay eggs?", False), ("Is Paris in France?", True), ("Is a dog an animal?", True),
        ("Do birds have feathers?", True), ("Is the Moon bigger than the Earth?", False),
        ("Does a week have seven days?", True), ("Is January the first month of the year?", True),
        ("Is Tokyo in China?", False), ("Do spiders have eight legs?", True), ("Is snow cold?", True),
        ("Can a cat fly?", False), ("Is ice made of water?", True), ("Is the ocean salty?", True),
        ("Do trees have leaves?", True), ("Is a car a fruit?", False), ("Is London in Italy?", False)],
    2: [("Is a spider an insect?", False), ("Is a bat a bird?", False), ("Is a tomato botanically a fruit?", True),
        ("Is Sydney the capital of Australia?", False), ("Is the Pacific the largest ocean on Earth?", True),
        ("Does ice float on water?", True), ("Is a shark a fish?", True), ("Is gold a metal?", True),
        ("Is glass a metal?", False), ("Do plants need sunlight for photosynthesis?", True),
        ("Is Mount Everest the highest mountain above sea level?", True), ("Is February the shortest month?", True),
        ("Is the Amazon River in Africa?", False), ("Is Venus closer to the Sun than Earth is?", True),
        ("Is Mercury the largest planet?", False), ("Is Mexico south of the United States?", True),
        ("Do humans have four lungs?", False), ("Is the Great Wall in China?", True),
        ("Is Berlin the capital of Germany?", True), ("Is the Atlantic Ocean bigger than the Pacific?", False),
        ("Does a triangle have three sides?", True), ("Does a hexagon have eight sides?", False)],
    3: [("Is a dolphin a fish?", False), ("Is zero an even number?", True), ("Is 1 a prime number?", False),
        ("Is a square a rectangle?", True), ("Is a koala a bear?", False),
        ("Is a peanut a true nut, botanically speaking?", False), ("Is a strawberry botanically a berry?", False),
        ("Is a banana botanically a berry?", True), ("Is Istanbul the capital of Turkey?", False),
        ("Is the Sahara the largest hot desert in the world?", True),
        ("Is lightning hotter than the surface of the Sun?", True), ("Does sound travel faster than light?", False),
        ("Is Earth closer to the Sun in January than in July?", True),
        ("Is Rio de Janeiro the capital of Brazil?", False), ("Is Toronto the capital of Canada?", False),
        ("Is a whale shark a whale?", False), ("Is a seahorse a fish?", True), ("Is a starfish a fish?", False),
        ("Is a jellyfish a fish?", False), ("Is Pluto classified as a planet today?", False),
        ("Is 2 a prime number?", True), ("Is the tomato a vegetable in botany?", False)],
}

SHORT_WORDS = ["cat", "dog", "sun", "pen", "cup", "hat", "box", "egg", "key", "map", "car", "bed"]
LONG_WORDS = ["elephant", "butterfly", "computer", "umbrella", "mountain", "chocolate", "kangaroo", "telephone"]
MID_WORDS = ["apple", "table", "chair", "house", "tiger", "pencil", "garden", "window", "rabbit", "planet",
             "bottle", "flower", "rocket", "castle", "jacket", "banana", "carpet", "market", "orange", "kitchen"]


def is_prime(n):
    return n >= 2 and all(n % k for k in range(2, int(math.isqrt(n)) + 1))


def yes_no(f):
    def compare(level):
        def make(rng):
            if level == 1:
                a, b = rng.sample(range(1, 30), 2)
                if abs(a - b) < 2:
                    return None
                sa, sb = str(a), str(b)
            elif level == 2:
                a = rng.randint(100, 999)
                s = list(str(a))
                i, j = rng.sample(range(3), 2)
                s[i], s[j] = s[j], s[i]
                b = int("".join(s))
                if b == a or b < 100:
                    return None
                sa, sb = str(a), str(b)
            else:
                k = rng.randrange(3)
                if k == 0:  # 9.11 vs 9.9
                    w = rng.randint(1, 20)
                    x = rng.randint(11, 89)
                    y = rng.randint(2, 9)
                    if x // 10 == y or x % 10 == 0:
                        return None
                    sa, sb = f"{w}.{x}", f"{w}.{y}"
                    a, b = float(sa), float(sb)
                elif k == 1:  # negatives
                    a, b = -rng.randint(1, 20), -rng.randint(1, 20)
                    if a == b:
                        return None
                    sa, sb = str(a), str(b)
                else:  # unit fractions
                    x, y = rng.sample(range(2, 10), 2)
                    sa, sb = f"1/{x}", f"1/{y}"
                    a, b = 1 / x, 1 / y
                if rng.random() < 0.5:
                    a, b, sa, sb = b, a, sb, sa
            if rng.random() < 0.25:
                rel, val = pick(rng, [("greater than", a > b), ("less than", a < b)])
                return (pick(rng, ["True or false: {a} is {r} {b}.", "true or false? {a} is {r} {b}"]).format(a=sa, b=sb, r=rel),
                        truth(val), ("cmp", frozenset((sa, sb))))
            t, val = pick(rng, [("Is {a} greater than {b}?", a > b), ("Is {a} bigger than {b}?", a > b),
                                ("Is {a} less than {b}?", a < b), ("Is {a} smaller than {b}?", a < b),
                                ("{a} > {b}? yes or no", a > b)])
            p = t.format(a=sa, b=sb)
            return (p if "yes or no" in p else ask(rng, p, YN_SUFFIX)), yes(val), ("cmp", frozenset((sa, sb)))

        return make

    def parity(level):
        def make(rng):
            n = rng.randint(1, 20) if level == 1 else rng.randint(101, 9999)
            if rng.random() < 0.5:
                t, val = "Is {n} an even number?", n % 2 == 0
            else:
                t, val = "Is {n} odd?", n % 2 == 1
            return ask(rng, casual(rng, t.format(n=n)), YN_SUFFIX), yes(val), ("parity", n)

        return make

    def prime(rng):
        n = rng.randint(3, 100)
        if n % 2 == 0 and rng.random() < 0.7:
            return None  # mostly odd numbers: the interesting cases
        t = pick(rng, ["Is {n} a prime number?", "Is {n} prime?", "is {n} a prime"])
        return ask(rng, t.format(n=n), YN_SUFFIX), yes(is_prime(n)), ("prime", n)

    def divisible(rng):
        d = pick(rng, [3, 4, 6, 7, 8, 9, 11, 12])
        n = rng.randint(20, 200)
        if rng.random() < 0.5:
            n = n - n % d
        t = pick(rng, ["Is {n} divisible by {d}?", "Can {n} be divided evenly by {d}?", "does {d} divide {n} evenly"])
        return ask(rng, t.format(n=n, d=d), YN_SUFFIX), yes(n % d == 0), ("div", n, d)

    def product_check(level):
        def make(rng):
            if level == 2:
                a, b = rng.randint(2, 9), rng.randint(2, 9)
            else:
                a, b = rng.randint(11, 25), rng.randint(3, 12)
            c = a * b
            if rng.random() < 0.5:
                c = c + pick(rng, [-1, 1, a, -a, b, 10, -10])
            t = pick(rng, ["Is {a} × {b} equal to {c}?", "Does {a} times {b} equal {c}?", "is {a}*{b} = {c}?"])
            return ask(rng, t.format(a=a, b=b, c=c), YN_SUFFIX), yes(a * b == c), ("prod", a, b, c)

        return make

    def longer(level):
        def make(rng):
            if level == 1:
                w1, w2 = pick(rng, LONG_WORDS), pick(rng, SHORT_WORDS)
            else:
                w1, w2 = rng.sample(MID_WORDS, 2)
                if abs(len(w1) - len(w2)) != 1:
                    return None
            if rng.random() < 0.5:
                w1, w2 = w2, w1
            t = pick(rng, ["Is the word '{a}' longer than '{b}'?", "Does '{a}' have more letters than '{b}'?",
                           "Is \"{a}\" a longer word than \"{b}\"?"])
            return ask(rng, t.format(a=w1, b=w2), YN_SUFFIX), yes(len(w1) > len(w2)), ("len", frozenset((w1, w2)))

        return make

    def alpha(level):
        def make(rng):
            w1, w2 = rng.sample(MID_WORDS + LONG_WORDS + SHORT_WORDS, 2)
            same = w1[0] == w2[0]
            if (level == 2) == same:
                return None
            t = pick(rng, ["Does '{a}' come before '{b}' in alphabetical order?",
                           "In a dictionary, does \"{a}\" come before \"{b}\"?"])
            return ask(rng, t.format(a=w1, b=w2), YN_SUFFIX), yes(w1 < w2), ("abc", frozenset((w1, w2)))

        return make

    rng = f.rng
    for level, rows in YN_FACTS.items():
        for q, v in rows:
            f.add(level, ask(rng, casual(rng, q), YN_SUFFIX), yes(v))
    plan = {
        1: [(compare(1), 22), (parity(1), 18), (longer(1), 18)],
        2: [(compare(2), 16), (parity(2), 12), (product_check(2), 14), (longer(2), 8), (alpha(2), 8)],
        3: [(compare(3), 20), (prime, 14), (divisible, 10), (product_check(3), 8), (alpha(3), 6)],
    }
    for level, tasks in plan.items():
        for make, n in tasks:
            f.fill(level, n, make)


# ---------------------------------------------------------------------------------------------
# Reference checker: a Python copy of evals/src/checkable.rs, used by the self-check only.
# ---------------------------------------------------------------------------------------------

QUOTE_FOLD = {"\u2019": "'", "\u2018": "'", "\u02bc": "'"}
NEGATORS = {"not", "no", "never", "isn't", "isnt", "aren't", "wasn't", "doesn't", "don't", "nor", "neither", "non"}
GAP_OK = set("*_\"'`\u201c\u201d\u00ab\u00bb-")
UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}


def ref_normalise(s, case):
    s = "".join(QUOTE_FOLD.get(c, c) for c in s)
    return s if case else s.lower()


def ref_spans(s):
    out, start = [], None
    for k, c in enumerate(s):
        inner = c.isalnum() or (c == "'" and start is not None and k + 1 < len(s) and s[k + 1].isalnum())
        if inner and start is None:
            start = k
        elif not inner and start is not None:
            out.append((start, k))
            start = None
    if start is not None:
        out.append((start, len(s)))
    return out


def ref_words(s, case=False):
    n = ref_normalise(s, case)
    return [n[a:b] for a, b in ref_spans(n)]


def ref_contains(hay, needle):
    k = len(needle)
    return k > 0 and any(hay[i:i + k] == needle for i in range(len(hay) - k + 1))


def ref_numbers(s, thousands=True):
    out, i, n = [], 0, len(s)
    dig = "0123456789"
    while i < n:
        if s[i] not in dig:
            i += 1
            continue
        if i > 0 and s[i - 1].isalpha():
            while i < n and s[i] in dig:
                i += 1
            continue
        neg = i > 0 and s[i - 1] in "-\u2212" and (i < 2 or not s[i - 2].isalnum())
        j = i
        while j < n and s[j] in dig:
            j += 1
        digits = s[i:j]
        if thousands and len(digits) <= 3:
            while j + 3 < n and s[j] == "," and all(c in dig for c in s[j + 1:j + 4]) and (j + 4 >= n or s[j + 4] not in dig):
                digits += s[j + 1:j + 4]
                j += 4
        if j + 1 < n and s[j] == "." and s[j + 1] in dig:
            j += 1
            digits += "."
            while j < n and s[j] in dig:
                digits += s[j]
                j += 1
        v = float(digits)
        out.append(-v if neg else v)
        i = j
    return out


def ref_word_numbers(s):
    norm = ref_normalise(s, False)
    sp = ref_spans(norm)
    toks = [norm[a:b] for a, b in sp]
    out, k = [], 0
    while k < len(toks):
        t = toks[k]
        if t in TENS:
            v = TENS[t]
            if k + 1 < len(toks) and toks[k + 1] in UNITS[1:10] and all(c.isspace() or c == "-" for c in norm[sp[k][1]:sp[k + 1][0]]):
                v += UNITS.index(toks[k + 1])
                k += 1
            out.append(float(v))
        elif t in UNITS:
            out.append(float(UNITS.index(t)))
        k += 1
    return out


def ref_close(a, b, tol):
    return abs(a - b) <= tol + 1e-9 * max(1.0, abs(b))


def ref_strip_marker(line):
    t = line.lstrip()
    if t[:1] in ("-", "*", "\u2022", "+") and t[1:2].isspace():
        return t[1:]
    m = re.match(r"([0-9]{1,3})[.)](\s)", t)
    if m:
        return t[len(m.group(1)) + 1:]
    return t


def ref_glued(adj, beyond):
    if adj is None:
        return False
    return adj.isalnum() or adj in "-_/@" or (adj in ".,:'" and beyond is not None and beyond.isalnum())


def reference_check(answer, output):
    k = answer["kind"]
    if k == "number":
        nums = ref_numbers(output)
        if not nums:
            nums = ref_word_numbers(output)
        return bool(nums) and ref_close(nums[-1], answer["value"], answer.get("tol", 0))
    if k == "text":
        case = answer.get("case", False)
        out = ref_words(output, case)
        hit = any(ref_contains(out, ref_words(g, case)) for g in [answer["value"]] + answer.get("alts", []))
        bad = any(ref_contains(out, ref_words(w, case)) for w in answer.get("wrong", []))
        return hit and not bad
    if k == "label":
        norm = ref_normalise(output, False)
        sp = ref_spans(norm)
        toks = [norm[a:b] for a, b in sp]
        present = []
        for lab in answer["labels"]:
            lw = ref_words(lab)
            for i in range(len(toks) - len(lw) + 1):
                if lw and toks[i:i + len(lw)] == lw:
                    negated = i > 0 and toks[i - 1] in NEGATORS and all(
                        c.isspace() or c in GAP_OK for c in norm[sp[i - 1][1]:sp[i][0]])
                    if not negated:
                        if lw not in present:
                            present.append(lw)
                        break
        return len(present) == 1 and present[0] == ref_words(answer["value"])
    if k == "exact":
        v = answer["value"]
        start = output.find(v) if v else -1
        while start >= 0:
            e = start + len(v)
            b1 = output[start - 1] if start >= 1 else None
            b2 = output[start - 2] if start >= 2 else None
            a1 = output[e] if e < len(output) else None
            a2 = output[e + 1] if e + 1 < len(output) else None
            if not ref_glued(b1, b2) and not ref_glued(a1, a2):
                return True
            start = output.find(v, start + 1)
        return False
    if k == "sequence":
        lines = [l[:-1] if l.endswith("\r") else l for l in output.split("\n")]  # like str::lines
        body = "\n".join(ref_strip_marker(l) for l in lines)
        nums = ref_numbers(body, thousands=False)
        vals = answer["values"]
        return bool(vals) and len(nums) >= len(vals) and all(
            ref_close(a, b, 0) for a, b in zip(nums[len(nums) - len(vals):], vals))
    raise ValueError(k)


# ---------------------------------------------------------------------------------------------
# Self-check
# ---------------------------------------------------------------------------------------------

ANSWER_KEYS = {
    "number": ({"kind", "value", "tol"}, set()),
    "text": ({"kind", "value", "alts", "case"}, {"wrong"}),
    "label": ({"kind", "value", "labels"}, set()),
    "exact": ({"kind", "value"}, set()),
    "sequence": ({"kind", "values"}, set()),
}


def is_num(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_row(row, problems):
    def bad(msg):
        problems.append(f"{row.get('id', '?')}: {msg}")

    if set(row) != {"id", "family", "level", "prompt", "answer"}:
        return bad(f"keys {sorted(row)}")
    fam, a, p = row["family"], row["answer"], row["prompt"]
    if fam not in FAMILIES:
        bad(f"unknown family {fam!r}")
    if not re.fullmatch(re.escape(fam) + r"-[1-9][0-9]*", row["id"]):
        bad("id is not <family>-<n>")
    if row["level"] not in (1, 2, 3) or isinstance(row["level"], bool):
        bad("level not in 1..3")
    limit = MAX_PROMPT_EXTRACTION if fam == "extraction" else MAX_PROMPT
    if not isinstance(p, str) or not p.strip() or len(p) > limit or p != p.strip():
        return bad(f"prompt empty, padded or over {limit} characters")
    if not isinstance(a, dict) or a.get("kind") not in ANSWER_KEYS:
        return bad("answer kind")
    must, may = ANSWER_KEYS[a["kind"]]
    if not must <= set(a) <= must | may:
        return bad(f"answer keys {sorted(a)}")
    k = a["kind"]
    if k == "number":
        if not is_num(a["value"]) or not is_num(a["tol"]) or a["tol"] < 0:
            return bad("number value/tol")
        outs_ok = [f"The answer is {fmt(a['value'])}.", f"{fmt(a['value'])}"]
        outs_bad = [f"The answer is {fmt(a['value'] + 2 * a['tol'] + 1)}.", "I don't know."]
    elif k == "text":
        strs = [a["value"]] + a["alts"] + a.get("wrong", [])
        if not all(isinstance(s, str) and ref_words(s, a["case"]) for s in strs) or not isinstance(a["case"], bool):
            return bad("text value/alts/wrong must be strings with words")
        if "wrong" in a and not a["wrong"]:
            bad("empty wrong list")
        for g in [a["value"]] + a["alts"]:
            for w in a.get("wrong", []):
                if ref_contains(ref_words(g, a["case"]), ref_words(w, a["case"])):
                    bad(f"gold {g!r} contains wrong {w!r}")
        if fam not in ("extraction", "yes_no"):
            pw = ref_words(p, a["case"])
            for g in [a["value"]] + a["alts"]:
                if ref_contains(pw, ref_words(g, a["case"])):
                    bad(f"gold {g!r} appears in the prompt")
        outs_ok = [f"The answer is {a['value']}.", f"**{a['value']}**"] + [f"It's {x}." for x in a["alts"]]
        outs_bad = ["I don't know."] + [f"{a['value']}, or maybe {w}" for w in a.get("wrong", [])]
    elif k == "label":
        labs = a["labels"]
        if (not labs or len(set(labs)) != len(labs) or a["value"] not in labs
                or not all(isinstance(x, str) and x == x.lower() and ref_words(x) == [x] for x in labs)):
            return bad("labels must be distinct lowercase single words containing the value")
        other = next(x for x in labs if x != a["value"])
        outs_ok = [a["value"], f"**{a['value'].capitalize()}**", f"The answer is {a['value']}."]
        outs_bad = [f"{a['value']} or {other}", f"not {a['value']}", other]
    elif k == "exact":
        v = a["value"]
        if not isinstance(v, str) or not v or v != v.strip() or "\n" in v:
            return bad("exact value")
        if v in p:
            bad("exact value appears in the prompt")
        outs_ok = [v, f"Sure! {v}", f"Answer: `{v}`", f"```\n{v}\n```", f"The result is \"{v}\"."]
        outs_bad = [f"x{v}x", "I don't know."]
        if v.lower() != v:
            outs_bad.append(v.lower())
        if v.upper() != v:
            outs_bad.append(v.upper())
    else:
        vs = a["values"]
        if not vs or not all(is_num(x) for x in vs):
            return bad("sequence values")
        if ref_contains(ref_numbers(p, False), [float(x) for x in vs]):
            bad("gold sequence appears in the prompt")
        outs_ok = [", ".join(fmt(x) for x in vs), "Sorted: " + " < ".join(fmt(x) for x in vs),
                   "\n".join(f"{i + 1}. {fmt(x)}" for i, x in enumerate(vs))]
        outs_bad = [", ".join(fmt(x) for x in vs[::-1]), ", ".join(fmt(x) for x in vs[:-1])]
    for o in outs_ok:
        if not reference_check(a, o):
            bad(f"gold-style reply {o!r} fails the reference checker")
    for o in outs_bad:
        if reference_check(a, o):
            bad(f"wrong reply {o!r} passes the reference checker")


def check_rows(rows):
    problems = []
    ids, prompts = set(), set()
    for row in rows:
        check_row(row, problems)
        if row.get("id") in ids:
            problems.append(f"{row.get('id')}: duplicate id")
        ids.add(row.get("id"))
        key = norm_prompt(row.get("prompt", ""))
        if key in prompts:
            problems.append(f"{row.get('id')}: duplicate prompt {row.get('prompt')!r}")
        prompts.add(key)
    counts = collections.Counter((r["family"], r["level"]) for r in rows if "family" in r)
    for fam in FAMILIES:
        total = sum(counts[(fam, lv)] for lv in (1, 2, 3))
        if total < 200 or any(counts[(fam, lv)] < 40 for lv in (1, 2, 3)):
            problems.append(f"{fam}: {total} rows ({[counts[(fam, lv)] for lv in (1, 2, 3)]}); want >= 200 and >= 40 per level")
    return problems


def print_counts(rows):
    counts = collections.Counter((r["family"], r["level"]) for r in rows)
    kinds = collections.Counter((r["family"], r["answer"]["kind"]) for r in rows)
    print(f"{'family':<18} {'L1':>4} {'L2':>4} {'L3':>4} {'total':>6}  kinds")
    for fam in FAMILIES:
        c = [counts[(fam, lv)] for lv in (1, 2, 3)]
        ks = ", ".join(f"{k} {n}" for (f_, k), n in sorted(kinds.items()) if f_ == fam)
        print(f"{fam:<18} {c[0]:>4} {c[1]:>4} {c[2]:>4} {sum(c):>6}  {ks}")
    c = [sum(counts[(fam, lv)] for fam in FAMILIES) for lv in (1, 2, 3)]
    print(f"{'total':<18} {c[0]:>4} {c[1]:>4} {c[2]:>4} {sum(c):>6}")


# ---------------------------------------------------------------------------------------------


GENERATORS = {
    "arithmetic": arithmetic,
    "unit_conversion": unit_conversion,
    "facts": facts,
    "spelling_words": spelling_words,
    "sentiment": sentiment,
    "topic": topic,
    "extraction": extraction,
    "format_conversion": format_conversion,
    "yes_no": yes_no,
}


def build():
    seen = set()
    rows = []
    for name in FAMILIES:
        fam = Family(name, seen)
        GENERATORS[name](fam)
        # Within a family: level 1 first, then 2, then 3; generation order inside a level.
        ordered = sorted(fam.rows, key=lambda r: r["level"])
        for n, r in enumerate(ordered, 1):
            rows.append({"id": f"{name}-{n}", "family": name, "level": r["level"], "prompt": r["prompt"],
                         "answer": r["answer"]})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="validate the existing checkable.jsonl; write nothing")
    args = ap.parse_args()
    if args.check:
        with open(OUT, encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        fresh = build()
        problems = check_rows(rows)
        if rows != fresh:
            problems.append("checkable.jsonl differs from what the generator writes now: regenerate it")
    else:
        rows = build()
        problems = check_rows(rows)
    if problems:
        for msg in problems[:50]:
            print(msg, file=sys.stderr)
        sys.exit(f"{len(problems)} problem(s); nothing written")
    if not args.check:
        with open(OUT, "w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"wrote {len(rows)} rows to {os.path.relpath(OUT)}")
    else:
        print(f"{os.path.relpath(OUT)}: {len(rows)} rows, all checks pass")
    print_counts(rows)


if __name__ == "__main__":
    main()
