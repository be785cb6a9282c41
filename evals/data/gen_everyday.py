#!/usr/bin/env python3
"""Writes the everyday routing data: everyday.jsonl (training) and everyday-table.jsonl (check).

The prompts are hand-written, held here as literal lists grouped by task family. Labels come
from the family, assigned by the authors before any model saw the data (see README.md):

  EASY families: a small, cheap chat model is expected to answer fully and correctly
                 -> weak=1, strong=1.
  HARD families: the request needs multi-step reasoning, formal proof, expert-level domain
                 analysis, or long/correct non-trivial code or system design, where small
                 models often fail -> weak=0, strong=1.

Run from anywhere:  python3 evals/data/gen_everyday.py
Output is deterministic: families in name order, prompts in the order written below.
The script refuses to write if a prompt is duplicated or if the check table and the training
file share a prompt (exactly, or after lowercasing and stripping punctuation/whitespace).
Stdlib only.
"""

import json
import os
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------------
# EASY families (weak=1, strong=1)
# ---------------------------------------------------------------------------------------------

EASY = {}

EASY["small_talk"] = [
    "hi",
    "Hello! How are you today?",
    "hey whats up",
    "Good evening :)",
    "thank you so much, that was really helpful",
    "Thanks a lot for the help earlier, the lasagna recipe turned out great!",
    "ok cool thx",
    "Hi there, I'm new here. What kind of things can you help me with?",
    "how's your day going",
    "Bonjour ! Ça va ?",
    "Hola, ¿qué tal?",
    "Moin! Alles gut bei dir?",
    "tell me a joke pls",
    "I'm bored. Talk to me?",
    "Happy Friday!!",
    "You're awesome, appreciate it 🙏",
    "Hey, just wanted to say thanks for yesterday. I was really stressed about the presentation and your tips about slowing down and pausing after each slide actually helped a lot. My manager said it was the clearest update we've had all quarter! Anyway, hope you have a good weekend, I'm off to the lake with my family.",
    "Sorry for the slow reply, I was in meetings all day. Where were we?",
    "ttyl, gotta run",
    "Thank you, that fixed it.",
    "こんにちは！元気ですか？",
    "What's your name?",
    "Merci beaucoup pour ton aide !",
]

EASY["translation"] = [
    "How do you say 'where is the train station' in German?",
    "translate to spanish: I'll be there in ten minutes",
    "What's 'excuse me' in Korean?",
    "Italian for 'the check, please'?",
    "Translate 'Je ne sais pas' into English",
    "What does 'Schadenfreude' mean in English?",
    "Can you translate this to Portuguese? 'Our office will be closed on Monday for the holiday.'",
    "how do i say happy new year in mandarin",
    "¿Cómo se dice 'mariposa' en inglés?",
    "Wie sagt man 'I'm lactose intolerant' auf Spanisch?",
    "Translate into Japanese: Nice to meet you.",
    "translate 'cheers' to swedish",
    "What's the Hindi word for water?",
    "Please translate the following sentence into Dutch: \"Could you please send me the invoice by Friday?\"",
    """Translate this product description to Spanish, keep it natural:

Meet the Trailblazer 2 backpack, built for weekend hikes and everyday commutes alike. The 28-litre main compartment fits a change of clothes, a rain jacket and lunch, while the padded sleeve keeps laptops up to 15 inches safe. Water-resistant recycled nylon shrugs off sudden showers, and the breathable mesh back panel keeps you cool on warm days. Two side pockets hold standard water bottles, and a hidden zip pocket keeps your passport and phone out of sight. Available in forest green, slate grey and sunset orange. Lifetime warranty included.""",
    "Traduis en anglais : « Je voudrais réserver une table pour deux personnes ce soir. »",
    "Translate to Turkish: how much does this cost?",
    "What does 'itadakimasu' mean?",
    "'I love you' in Arabic?",
    "Translate this text message to Russian: running late, start without me",
    "Polish translation of 'good luck with the exam' please",
    "Übersetze bitte ins Englische: „Der Zug hat zehn Minuten Verspätung.“",
]

EASY["formatting"] = [
    "Turn this into a numbered list: buy milk, call mom, pay rent, book dentist",
    "convert to JSON: name=John Smith, email=john@example.com, role=admin",
    "Make a markdown table with these columns: Country, Capital, Population. Rows: France/Paris/68M, Japan/Tokyo/125M, Brazil/Brasília/203M",
    "Convert to title case: the lord of the rings the return of the king",
    """Put this in CSV format with a header row:
Apples - 3 - $1.20
Bananas - 6 - $0.50
Cherries - 1 lb - $4.99""",
    """Summarize this in 3 bullet points:

We met with the design agency on Tuesday. They showed two logo concepts; the team preferred the second one but wants a darker blue. The agency will send revised files by next Wednesday. We also agreed to push the website launch from May 1 to May 15 so there's time to update the product photos.""",
    "can you make this all lowercase: PLEASE READ THE INSTRUCTIONS BEFORE STARTING",
    "Sort these dates oldest first: 12/03/2021, 01/07/2019, 30/11/2020, 15/02/2022 (they're day/month/year)",
    """Turn these into a CSV with columns name, email, phone:
Maria Gomez – maria.g@example.com – 555-201-3344
Tom O'Neil, tom.oneil@example.org, (555) 118-9090
Li Wei / liwei88@example.net / 555 640 7781
Sara Haddad - sara@haddad.example.com - 555.909.1212
Jonas Berg, jberg@example.com, 555-330-4455""",
    "Turn these notes into a short paragraph: - flight lands 6pm - hotel is near airport - dinner at 8 with client",
    """Convert this JSON to YAML:
{"name": "app", "version": "1.2.0", "debug": false, "ports": [80, 443]}""",
    "Make this a markdown checklist: pack charger, water plants, lock back door, take out trash",
    "Remove the duplicates from this list: red, blue, green, blue, yellow, red, purple",
    "Please rewrite these names as 'Last, First': Ada Lovelace, Alan Turing, Grace Hopper",
    """Convert this table to a bulleted list:
| Day | Task |
|---|---|
| Mon | Gym |
| Tue | Groceries |
| Wed | Laundry |""",
    "Wrap each of these words in double quotes and separate them with commas: cat dog bird fish",
    """Summarise this in one line:

Starting next Monday, the building's main entrance on Elm Street will be closed for about three weeks while the lobby floor is replaced. During that time, everyone should use the side entrance next to the parking garage, which will stay open from 6 a.m. to 9 p.m. Badge readers at the side door have already been updated, so your current badge will work. Deliveries should be redirected to the loading dock at the back of the building, and visitors will be signed in at a temporary desk just inside the side entrance. The cafeteria and elevators are not affected. If you have accessibility needs, please contact facilities and they will arrange an alternative.""",
    """Give me this as a markdown heading plus a bullet list:
Weekend plans
Saturday hike at 9
lunch with Priya
Sunday meal prep""",
    "Mettez cette liste en ordre alphabétique : Lyon, Bordeaux, Marseille, Amiens, Nantes",
    "convert 14:30 to 12-hour format",
    "Turn this into a table with columns Name and Score: Ana 91, Ben 78, Chloe 85, Dev 88",
]

EASY["simple_facts"] = [
    "capital of kenya?",
    "Which city is the capital of Canada?",
    "Who wrote Pride and Prejudice?",
    "When did World War II end?",
    "What year did the Berlin Wall fall",
    "what's the tallest mountain in the world",
    "How many continents are there?",
    "What is the chemical symbol for gold?",
    "Who was the first person to walk on the moon?",
    "What language do they speak in Brazil?",
    "define: ephemeral",
    "How many players are on a soccer team on the field?",
    "What currency does Japan use?",
    "Who is the author of '1984'?",
    "what is the largest ocean",
    "Wer hat die Relativitätstheorie entwickelt?",
    "How many bones are in the adult human body?",
    "Which planet is closest to the sun?",
    "When is Bastille Day?",
    "What's the speed of light, roughly?",
    "Quel est le plus long fleuve de France ?",
    "who painted starry night",
]

EASY["arithmetic"] = [
    "What's 15% of 80?",
    "12 * 12",
    "how many miles is 42 km",
    "What is 144 divided by 12?",
    "If I have 3 apples and buy 5 more, how many do I have?",
    "Convert 72°F to Celsius",
    "What's 1/4 + 1/2?",
    "25 + 37 = ?",
    "How many minutes are in 3.5 hours?",
    "what's a 20% tip on $45",
    "Convert 5 feet 10 inches to centimeters",
    "Is 91 a prime number?",
    "square root of 81",
    "Can you add these up for me? Groceries 42.18, gas 38.50, pharmacy 12.99, coffee 4.75, parking 9.00, lunch with Sam 23.40. And what would the total be if Sam pays back half of the lunch?",
    "¿Cuánto es 9 por 7?",
    "A shirt costs $30 and it's 25% off. What's the sale price?",
    "What is 1000 - 387?",
    "How many liters are in a US gallon?",
    "split a $96 dinner bill between 4 people",
    "What's 3 cubed?",
    "Round 3.14159 to two decimal places",
    "Combien font 250 divisé par 5 ?",
    "(3 + 5) × 2 = ?",
]

EASY["rewriting"] = [
    """Can you fix the typos in this email? Don't change the tone.

Hi Marcus,

Thanks for geting back to me so quickly. I wanted to follow up on our conversaton from tuesday about the Q3 marketing budget. As discused, we'd like to move about $15,000 from the print campaign into digital ads, since the print numbers have been pretty dissapointing this year. I've attatched a short spreadsheet with the breakdown by channel and the expected reach for each one.

Could you let me know by Friday wether this works for your team? If it's easier, I'm happy to jump on a quick call, I'm free most of thursday afternoon. Also, please remind Jenna that the vendor contracts need to be signed before the end of the month, otherwise we loose the early discount.

Thanks again for all you're help,
Priya""",
    "Can you make this sound more polite? 'Send me the report now.'",
    "fix grammar: their going to the park tomorow and they're dog is coming to",
    "Rephrase this so it sounds more professional: hey guys, the thing is broken again, somebody pls look at it",
    "Is it 'affect' or 'effect' in this sentence: The new policy will ___ everyone.",
    "Shorten this sentence: Due to the fact that we are currently experiencing a higher than usual volume of calls, wait times may be longer than expected.",
    """Make this warmer and less corporate, it's going to a long-time customer:

Dear Mr. Alvarez,

We acknowledge receipt of your complaint dated 3 March regarding the delayed delivery of order #55120. We regret any inconvenience this may have caused. Our records indicate that the delay was due to a warehouse issue which has since been resolved. As a gesture of goodwill, a credit of $20 has been applied to your account. Should you require further assistance, please do not hesitate to contact our customer service department.

Regards,
Customer Service Team""",
    "spell check: accomodate, definately, seperate, reccomend",
    "Correct this: 'Each of the students have their own locker.'",
    "Rewrite in passive voice: The committee approved the new budget.",
    "Can you paraphrase 'the early bird catches the worm'?",
    "Please proofread my cover letter opening: 'I am writting to apply for the position of Marketing Assistent at you're company, which I seen advertised on LinkedIn.'",
    "Corrige : « Je suis allé au magasin hier et j'ai acheter du pain. »",
    "Make this sentence less wordy: In my personal opinion, I think that we should probably try to start the meeting on time.",
    "Rewrite this text so it doesn't sound angry: 'Why didn't you tell me you'd be late??'",
    "Turn this into a friendlier Slack message: 'Reminder: timesheets due today. No exceptions.'",
    "which is correct, 'between you and me' or 'between you and I'",
    "Fix the capitalization and punctuation: i went to paris in june it was amazing",
    """Can you make this LinkedIn post shorter, same tone?

I'm thrilled to share that after almost five incredible years at Brightwave, I'm starting a new chapter as Head of Product at Lumen Health! I want to take a moment to thank the amazing team at Brightwave, who taught me so much about building products people actually love, and about leading with empathy. I'll miss our Friday demos and the endless debates about button colours. At Lumen, I'll be working on tools that help clinicians spend less time on paperwork and more time with patients, which is something I care deeply about. If you're in the digital health space, I'd love to connect!""",
    "Can you check my English? 'I am living in Berlin since 2019 and I work as nurse.'",
    "Reword this in plain English: We will utilize the new software to facilitate cross-departmental communication.",
]

EASY["short_creative"] = [
    "haiku about my cat pls",
    "Write a short birthday message for my sister who just turned 30",
    "Give me a catchy tweet announcing our new coffee shop opening on Saturday",
    "Suggest 5 names for a dog walking business",
    "write a two line poem about rain",
    "Can you come up with a funny caption for a photo of my cat sitting in a box?",
    "A short toast for my best friend's wedding, about 4 sentences, heartfelt but light",
    "Write a limerick about a programmer who forgot to save.",
    "I need a product name for a reusable water bottle that tracks how much you drink",
    "write a thank you note to my kid's teacher for the end of the school year, keep it short",
    "Slogan for a neighborhood bakery?",
    "Écris un petit poème de 4 vers sur la mer.",
    "Write a short, cheerful Instagram caption for a beach sunset photo",
    "I need a one-sentence bio for my Twitter: I'm a nurse who loves hiking and bad puns",
    "Make up a bedtime story about a sleepy dragon, like 100 words",
    "congrats message for a coworker who just got promoted",
    "Give me 3 fun team names for a pub quiz",
    "Write a short rhyming invitation for my son's pizza party on Saturday",
    "Write an acrostic poem for the word SUN",
    "Escribe un mensaje corto para felicitar a mi madre por el Día de la Madre.",
    "tagline for a podcast about gardening for beginners",
]

EASY["everyday_advice"] = [
    "How long do I boil an egg for a soft yolk?",
    "spilled red wine on the carpet, what do I do??",
    "Write a polite reminder to a client that their invoice is 2 weeks overdue",
    "What's the best way to keep cut avocado from turning brown?",
    "How often should I water a snake plant?",
    "tips for falling asleep faster?",
    "How do I unclog a bathroom sink without chemicals",
    "What should I pack for a 3 day business trip?",
    "My neighbour's dog barks every day from about 7am until noon while they're at work. I work from home and it's making calls really hard. We get along fine otherwise and I don't want to make it awkward or involve the landlord yet. How should I bring it up with them? Maybe give me a few sentences I could actually say.",
    "My phone battery drains really fast, what can I do?",
    "How do I cook rice on the stove?",
    "any tips for a first job interview tomorrow? kinda nervous",
    "How can I get better at remembering people's names?",
    "Comment enlever une tache de graisse sur un jean ?",
    "How do I defrost chicken quickly and safely?",
    "What's a good way to start running if I've never done it?",
    "How do I ask my landlord to fix the heating, nicely but firmly?",
    "how to tie a tie",
    "Ideas for a cheap date night at home?",
    "How do I clean a cast iron pan?",
    "What can I do if my toddler refuses to eat vegetables?",
]

EASY["extraction"] = [
    "Is this review positive or negative? 'Delivery was fast and the headphones sound amazing for the price.'",
    "Extract the date from: 'The conference has been moved to Thursday, 14 November 2024.'",
    "What's the sentiment of this tweet: 'ugh another delay, this airline never learns'",
    "Pull out all the names mentioned: 'Yesterday Tom met Aisha and her brother Luis at the library.'",
    "Classify this email as spam or not spam: 'Congratulations! You've won a $1000 gift card. Click here to claim now!'",
    "From this sentence, what's the price and the product? 'I bought a used bike for $120 last weekend.'",
    """Here's a paragraph from my lease. What's the monthly rent, when is it due, and what's the late fee?

'3. RENT. Tenant agrees to pay Landlord as rent for the Premises the sum of One Thousand Four Hundred Fifty Dollars ($1,450.00) per month, in advance, on or before the first (1st) day of each calendar month, without demand or deduction. Rent received after the fifth (5th) day of the month shall be subject to a late charge of Seventy-Five Dollars ($75.00). Payments shall be made by bank transfer to the account designated by Landlord in writing.'""",
    "Categorize these expenses into Food, Transport, or Bills: Uber $14, electricity $60, groceries $85, bus pass $40, pizza $22",
    "What language is this: 'Dziękuję bardzo za pomoc'?",
    "Is the tone of this message formal or informal? 'Dear Mr. Patel, please find attached the signed agreement.'",
    "Extract the phone number: 'You can reach our support line at (415) 555-0198 between 9 and 5.'",
    """Read this support ticket and tell me the order number and what the customer is asking for:

'Hello, I ordered a pair of running shoes (order #A-48213) on the 2nd and they arrived yesterday, but they're a size 9 and I ordered a 10. The box is unopened apart from me checking the size. I don't want a refund, I just want to swap them for the right size, ideally before next weekend because I have a race. Can you send me a return label? Thanks, Daniel'""",
    "Label each sentence as fact or opinion: 1. Paris is in France. 2. Paris is the most beautiful city. 3. The Eiffel Tower was finished in 1889.",
    "Positive, negative or neutral? 'The hotel was okay. Nothing special, nothing terrible.'",
    "Cette critique est-elle positive ou négative ? « Le film était beaucoup trop long et les acteurs peu convaincants. »",
    "what's the main topic of this headline: 'Central bank raises interest rates for the third time this year'",
    "Get the city names out of this: I flew from Chicago to Denver, then drove to Santa Fe.",
    "Tag this support message with one of billing, technical, account: 'I can't log in, it keeps saying my password is wrong even after I reset it.'",
    "Extract the meeting time and place: 'Let's do Tuesday 3pm in the 4th floor conference room.'",
    "Does this sentence mention a deadline? 'Please submit your forms by the end of the month.'",
    "Which words in this sentence are verbs: 'The dog ran quickly and barked at the mailman.'",
]

EASY["basic_explanations"] = [
    "What is a VPN and do I need one?",
    "What is photosynthesis?",
    "explain what a credit score is like I'm 10",
    "What's the difference between weather and climate?",
    "How does a microwave heat food?",
    "What is a blockchain in simple terms?",
    "What's the difference between a virus and a bacterium?",
    "what is an API",
    "Why is the sky blue?",
    "What does a router do in a home network?",
    "Explain compound interest in simple words.",
    "What is cloud computing?",
    "What's the difference between RAM and storage?",
    "How do vaccines work, briefly?",
    "What is a 401(k)?",
    "Qu'est-ce que l'effet de serre ? Explique simplement.",
    "What's machine learning, in one paragraph for a non-technical person?",
    "What's the difference between HTTP and HTTPS?",
    "how do solar panels work",
    "What does a cookie do on a website?",
    "What is DNS?",
]

EASY["code_oneliners"] = [
    "How do I reverse a string in Python?",
    "what does git status do",
    "How do I get the length of a list in Python?",
    "JS: how to check if an array includes a value",
    "What's the command to list all files including hidden ones in Linux?",
    "How do I undo my last git commit but keep the changes?",
    "convert string to int in java",
    "SQL to select all rows from a table called users where age > 30",
    """I get this when I run my script, what does it mean?

Traceback (most recent call last):
  File "report.py", line 12, in <module>
    total = total + row['amount']
TypeError: unsupported operand type(s) for +: 'int' and 'str'""",
    "What does `chmod +x script.sh` do?",
    "how do i make a new branch in git and switch to it",
    "Python one-liner to sum a list of numbers",
    "What's the difference between == and === in JavaScript?",
    "How do I create a virtual environment in Python?",
    "CSS to center text",
    "How to get the current date in JavaScript?",
    "What does `pip install -r requirements.txt` do?",
    "Write a list comprehension that squares the numbers 1 to 10",
    "How do I comment out multiple lines in Python?",
    "How do I find which process is using port 8080 on a Mac?",
    "Was macht `git pull`?",
    "fix this: print('Total: ' + 5)",
    "What does this do? `[x for x in nums if x % 2 == 0]`",
]

# ---------------------------------------------------------------------------------------------
# HARD families (weak=0, strong=1)
# ---------------------------------------------------------------------------------------------

HARD = {}

HARD["proofs"] = [
    "Prove that sqrt(2) is irrational.",
    "Prove that there are infinitely many primes of the form 4k+3.",
    "Prove that every subgroup of a cyclic group is cyclic.",
    "Prove the AM-GM inequality for n positive real numbers.",
    "Show that log_2(3) is irrational.",
    "Let G be a finite group and H a subgroup of index p, where p is the smallest prime dividing |G|. Prove that H is normal.",
    "Prove that a continuous function on a closed bounded interval attains its maximum. Don't just cite Weierstrass, prove it from the completeness axiom.",
    "Prove that the real numbers are uncountable.",
    "For positive reals a, b, c with abc = 1, prove that a^2 + b^2 + c^2 >= a + b + c.",
    "Prove the Bolzano–Weierstrass theorem.",
    "Show that the alternating group A5 is simple.",
    "Prove that every planar graph is 5-colourable.",
    "Show that Σ 1/p over primes diverges.",
    "Démontrez que le groupe multiplicatif (Z/pZ)* est cyclique pour tout nombre premier p.",
    "Prove that if a^2 + b^2 = c^2 for positive integers a, b, c, then 60 divides abc.",
    "Prove that a metric space is compact if and only if it is complete and totally bounded.",
    "I need a rigorous proof that det(AB) = det(A)det(B), ideally via the characterization of the determinant as the unique alternating multilinear form with det(I) = 1, not by expanding the Leibniz formula.",
    "Prove Sylow's first theorem.",
    "Prove that π is irrational.",
    "Show there is no continuous injective map from R^2 to R.",
    "Prove that the Cantor set is uncountable and has Lebesgue measure zero.",
    "rigorous proof that the sum of 1/n^2 equals pi^2/6 please (not Euler's handwavy product argument)",
]

HARD["derivations"] = [
    "Derive the posterior distribution for a Beta prior with a Binomial likelihood, and then the posterior predictive distribution for the next m trials.",
    "Derive the Euler–Lagrange equation.",
    "Apply Itô's lemma to f(t, W_t) = exp(W_t - t/2) to show it is a martingale, then use Itô's formula to compute E[W_t^4].",
    "Derive the normal equations for ordinary least squares and show that the OLS estimator is BLUE under the Gauss–Markov assumptions.",
    "Derive the energy levels and normalized wavefunctions for a particle in a 1D infinite square well from the time-independent Schrödinger equation.",
    "Derive the backpropagation equations for a two-layer MLP with ReLU hidden units and a softmax cross-entropy output.",
    "Derive the Macaulay duration and convexity of a fixed-coupon bond and show how they give a second-order approximation of the price change for a parallel yield shift.",
    "Derive the wave equation for a vibrating string from Newton's second law, stating every approximation you make.",
    "Derive the variance of the sample mean when the observations follow a stationary AR(1) process with coefficient phi.",
    "Starting from Maxwell's equations in vacuum, derive the electromagnetic wave equation and show that the wave speed is 1/sqrt(mu0 eps0).",
    "Derive the Capital Asset Pricing Model from mean–variance portfolio optimization with a risk-free asset.",
    "Derive the evidence lower bound (ELBO) for a variational autoencoder and explain how the reparameterization trick gives a low-variance gradient estimator.",
    "Derive the Hamilton–Jacobi–Bellman equation for a continuous-time stochastic control problem with a controlled diffusion.",
    "Using the Binet equation, derive the orbit r(θ) of a body under an inverse-square central force and show it is a conic section.",
    "derive stirling's formula via laplace's method",
    "Derive the Navier–Stokes momentum equation for an incompressible Newtonian fluid from conservation of momentum.",
    "Leite die Formel für die Zeitdilatation aus den beiden Postulaten der speziellen Relativitätstheorie her.",
    "Derive the closed-form price of a zero-coupon bond under the Vasicek short-rate model.",
    "Show that (n-1)s^2/sigma^2 has a chi-squared distribution with n-1 degrees of freedom for i.i.d. normal samples, including a proof that the sample mean and sample variance are independent.",
    "derive the Fokker-Planck equation from the Langevin equation",
    "Derive the Kelly criterion for a bet with win probability p and net odds b, then extend it to the optimal leverage for a continuously traded asset with drift mu and volatility sigma.",
    "Derive the Michaelis–Menten equation from the quasi-steady-state assumption and explain when that assumption fails.",
]

HARD["quant_problems"] = [
    "all n with n^2+2^n a perfect square?",
    "A bag has 5 red and 7 blue balls. You draw without replacement until all the red balls have been drawn. What is the expected number of draws?",
    "How many 10-digit positive integers have digits summing to 45 with no two adjacent digits equal?",
    "(3^2024 + 5^2024) mod 49 = ? show your work",
    "Three points are chosen uniformly at random on a circle. What is the probability that the triangle contains the centre? Then do the same for four random points on a sphere and the tetrahedron, with a justification rather than just the number.",
    "Let a_1 = 1 and a_{n+1} = a_n + 1/a_n. Is a_100 > 14? Give a tight estimate of a_100 with proof.",
    "A company's revenue is $10M and grows 12% a year; its costs start at 90% of revenue and grow 8% a year. In which year do profits first exceed 25% of revenue, and what is the NPV of the profits over the first 10 years at a 9% discount rate? Show every step.",
    "IMO 1988: let a and b be positive integers such that ab + 1 divides a^2 + b^2. Show that (a^2 + b^2)/(ab + 1) is a perfect square.",
    "A frog sits on lily pad 1 of pads numbered 0 to 10. From pad k (0<k<10) it jumps to k-1 with probability k/10 and to k+1 with probability 1-k/10. Pad 0 has a snake, pad 10 is safe. What is the probability the frog escapes?",
    "What is the expected number of rolls of a fair six-sided die until every face has appeared at least twice?",
    "Count the lattice paths from (0,0) to (10,10) with unit right and up steps that never touch the line y = x + 3.",
    "Train A leaves city X at 9:00 at 80 km/h toward city Y, 300 km away; train B leaves Y at 9:30 at 100 km/h toward X. Each stops for 15 minutes at the station exactly halfway. A bird starts at train B when B departs and flies back and forth between the trains at 150 km/h until they meet. How far does the bird fly?",
    "Find the smallest positive integer n such that n! ends in exactly 2024 zeros, or show that no such n exists.",
    "In how many ways can 8 non-attacking rooks be placed on a chessboard so that no rook lies on either main diagonal?",
    "Evaluate the integral of ln(1+x)/(1+x^2) from 0 to 1 in closed form.",
    "Trouvez tous les entiers n ≥ 1 tels que n divise 2^n − 1.",
    "I have a $420k mortgage over 30 years at 6.5%. After 7 years the rate resets to 7.75% and at the reset I make a $50k lump-sum prepayment while keeping the original end date. What is the new monthly payment, and what's the total interest paid over the life of the loan? Show each step.",
    "In a round-robin tournament of 12 teams (win 3 points, draw 1, loss 0), what is the minimum number of points that guarantees a team finishes strictly in the top 4? Justify it.",
    "Find the maximum of x^2 y + y^2 z + z^2 x over nonnegative reals with x + y + z = 3.",
    "A drug has a half-life of 6 hours and a patient takes 200 mg every 8 hours (assume instant absorption, one-compartment). What are the steady-state peak and trough? If one dose is skipped, how long until the trough is back within 5% of steady state?",
    "What is the probability that a random 13-card bridge hand has at least one void? Use inclusion–exclusion and give the exact value.",
    "How many positive divisors of 30^10 are perfect squares but not perfect cubes?",
]

HARD["algorithm_design"] = [
    "Design an O(n log n) algorithm to count inversions in an array and prove its correctness.",
    "Design a data structure for a stream of integers that supports insert and median in O(log n), then extend it to a sliding-window median in O(log k) per step. Analyse both.",
    "Give an O(n log n) algorithm for the longest increasing subsequence that also reconstructs the sequence, and prove why the patience-sorting invariant holds.",
    "How would you find all articulation points and bridges of an undirected graph in linear time? Explain why the low-link values work.",
    "Design an algorithm that detects whether a directed graph contains a negative-weight cycle and outputs one if it does. What's the complexity?",
    "You have n weighted intervals. Choose a maximum-weight subset of pairwise non-overlapping intervals. Then solve the variant where you may choose at most k intervals. Algorithms and complexities for both.",
    "Design a data structure supporting range-add updates and range-sum queries on an array of size n, both in O(log n), and argue the correctness of lazy propagation.",
    "What is the minimum number of swaps needed to sort a permutation, and the minimum number of adjacent swaps? Prove both results.",
    "Describe a linear-time algorithm for 2-SAT and prove that the formula is satisfiable iff no variable is in the same strongly connected component as its negation.",
    "Design an O(n log n) algorithm for string matching with wildcard characters using the FFT.",
    "What's the fastest way to count the distinct substrings of a string of length 10^5? Justify the time and space complexity.",
    "Give a 2-approximation for metric TSP, prove the ratio, and explain why Christofides achieves 3/2.",
    "Given an n×n grid with walls, find the minimum number of walls to remove to get from the top-left to the bottom-right cell. Algorithm, proof, complexity.",
    "Prove Edmonds–Karp runs in O(VE^2).",
    "How can I compute the k shortest simple paths between two nodes efficiently? Compare Yen's algorithm with Eppstein's and say when each applies.",
    "Design a deterministic online algorithm for ski rental and prove its competitive ratio, then give the randomized algorithm and its e/(e-1) ratio.",
    "n up to 2*10^5 and q queries: given l and r, count the distinct values in a[l..r]. I want both an offline and an online solution with complexities.",
    "Design an O(n) algorithm to decide whether two rooted trees are isomorphic, and prove it correct.",
    "Minimum cost to merge stones: n piles in a row, each move merges exactly K consecutive piles at a cost equal to their total. Give the DP, show when it's impossible, and state the complexity.",
    "Entwirf einen Algorithmus, der in einem gewichteten ungerichteten Graphen einen minimalen Spannbaum findet, in dem ein vorgegebener Knoten genau Grad k hat, und analysiere die Laufzeit.",
    "I need to deduplicate 2 billion URLs on one machine with 8 GB of RAM and a fast SSD. Design the algorithm and estimate its I/O cost.",
    "Matrix chain multiplication is O(n^3) with the textbook DP. Explain the Hu–Shing O(n log n) approach and why it works.",
]

HARD["substantial_code"] = [
    "Implement a lock-free multi-producer multi-consumer queue (Michael–Scott) in C++ with safe memory reclamation via hazard pointers, and justify every memory ordering you use.",
    "Write a recursive-descent parser in Python for arithmetic expressions with +, -, *, /, ^ (right-associative), unary minus and parentheses. It should build an AST and give error messages that point to the offending column.",
    "Implement a distributed sliding-window rate limiter in Go backed by Redis, atomic via a Lua script, that stays correct when the app servers' clocks are skewed.",
    """Under load some threads get a Config whose values map is null. Why? Explain it in terms of the Java Memory Model and give the correct fix(es).

```java
public class Config {
    private static Config instance;
    private Map<String, String> values;

    private Config() { values = loadFromDisk(); }

    public static Config get() {
        if (instance == null) {
            synchronized (Config.class) {
                if (instance == null) {
                    instance = new Config();
                }
            }
        }
        return instance;
    }
}
```""",
    """Two concurrent withdraw("alice", 80) calls both succeed and the balance goes negative. asyncio is single-threaded, so how is this possible? Fix it, and tell me what changes once we run several worker processes.

```python
balance = {"alice": 100}

async def withdraw(user, amount):
    current = balance[user]
    if current >= amount:
        await audit_log(user, amount)
        balance[user] = current - amount
        return True
    return False
```""",
    "implement raft in go, with partition tests",
    "B+ tree in C with deletes, please.",
    "Write a regex engine in Rust supporting ., *, +, ?, |, grouping and character classes, using Thompson's NFA construction and simulation so it never backtracks.",
    "Implement malloc/free/realloc in C with segregated free lists and boundary-tag coalescing, and explain how you keep fragmentation down.",
    "Write a TypeScript implementation of a sequence CRDT (RGA or similar) for collaborative text editing with insert, delete and merge, and prove the merge is commutative.",
    """Occasionally the consumer hangs forever and sometimes it processes data that isn't ready. Explain all the problems and fix them.

```cpp
std::mutex m;
std::condition_variable cv;
bool ready = false;

void consumer() {
    std::unique_lock<std::mutex> lk(m);
    cv.wait(lk);
    process();
}

void producer() {
    prepare();
    ready = true;
    cv.notify_one();
}
```""",
    "Implement a work-stealing thread pool in C++17 with per-thread Chase–Lev deques, futures for results, and clean shutdown.",
    "Write a toy SQL engine in Python: parse SELECT ... FROM ... JOIN ... WHERE ... GROUP BY, and execute it over CSV files with a hash join and a simple cost-based choice of join order.",
    "Implement a persistent hash array mapped trie in Haskell with insert, delete and lookup, using structural sharing and handling hash collisions.",
    "Write a web crawler in Kotlin with coroutines: bounded global concurrency, per-domain politeness delays, robots.txt support, retries with backoff, and cooperative cancellation.",
    "Write an HTTP/1.1 server in C on epoll that supports keep-alive, chunked transfer encoding and pipelined requests, without blocking on slow clients.",
    """Find every bug in this (there are several) and rewrite it correctly with at most 10 requests in flight.

```go
func fetchAll(urls []string) map[string]int {
    results := make(map[string]int)
    var wg sync.WaitGroup
    for _, u := range urls {
        go func() {
            wg.Add(1)
            defer wg.Done()
            resp, err := http.Get(u)
            if err != nil {
                return
            }
            results[u] = resp.StatusCode
        }()
    }
    wg.Wait()
    return results
}
```""",
    "Implement Aho–Corasick in Java and use it to mask 10,000 banned words in a stream of chat messages, case-insensitively and Unicode-aware, in time linear in the input.",
    "Write a minimal Git in Python: init, add, commit, log and checkout, with content-addressed blob/tree/commit objects stored like real Git.",
    "Implémente en Rust un interpréteur pour un sous-ensemble de Scheme : define, lambda, if, let, fermetures et optimisation des appels terminaux.",
    "Implement Dijkstra with a Fibonacci heap in C++ (including decrease-key), and benchmark it against a binary heap on large sparse graphs.",
    "Write a CUDA kernel for tiled matrix multiplication using shared memory that handles sizes that aren't multiples of the tile, and explain how you avoid bank conflicts.",
]

HARD["system_design"] = [
    "Design a URL shortener handling 100k writes/s and 1M reads/s, with custom aliases, click analytics and expiry. Discuss the trade-offs.",
    "Design the backend for a real-time multiplayer game: 100 players per match, 60 ticks per second, global players. Netcode, authority, matchmaking, scaling.",
    "How would you design the home timeline for a Twitter-like service? Fan-out on write vs on read, celebrity accounts, ranking, and storage.",
    "Design a payment system that guarantees a customer is charged exactly once despite client retries, timeouts and provider outages, including idempotency keys and reconciliation.",
    "Design a distributed job scheduler (cron at scale) that survives node failures without running a job twice or skipping it.",
    "We need to move a single 4 TB Postgres to a sharded setup with zero downtime. Write the migration plan and the risks at each step.",
    "Design search autocomplete for 500M users with p99 latency under 50 ms, including how suggestions are ranked and kept fresh.",
    "Design an LLM gateway that routes between several providers, enforces per-tenant budgets, streams responses and fails over. What breaks first at 10k requests per second?",
    "Compare event sourcing with CQRS against a classic CRUD design for an inventory system spanning 200 warehouses. Which would you pick and why?",
    "Design a WhatsApp-like messenger with end-to-end encryption, multi-device support and offline delivery.",
    "Design a metrics pipeline for 50 million active time series: ingestion, downsampling, retention, and fast queries.",
    "Design Uber's driver dispatch.",
    "How should we go multi-region active-active for our SaaS (Postgres, Redis, S3) so we survive the loss of a region with RPO under a minute? Spell out the trade-offs.",
    "design youtube",
    "Design a feature-flag system with percentage rollouts, targeting rules and sub-millisecond evaluation in client SDKs.",
    "Design a notification service (push, SMS, email) with per-user preferences, quiet hours, rate limits, retries and deduplication.",
    "Design a distributed lock service. When is Redis Redlock unsafe, and what would you use instead?",
    "Design the backend of a Google-Docs-style collaborative editor: OT vs CRDT, presence, history and offline edits.",
    "Conçois un système de billetterie pour des concerts très demandés (1 million d'utilisateurs en une minute) : file d'attente, réservation de l'inventaire, paiement, anti-bots.",
    "Design a multi-tenant secrets manager: encryption key hierarchy, access control, audit logging and rotation.",
    "Design a recommendation system for an e-commerce site with 10M products: candidate generation, ranking, cold start and online evaluation.",
    "Design an ad click attribution pipeline that handles late and duplicated events and click fraud, with exactly-once counts for billing.",
]

HARD["expert_analysis"] = [
    """Under English law, is this clause likely to be enforceable against a small business customer, considering UCTA 1977 and the reasonableness test? Cite the leading cases.

"The Supplier's total liability arising under or in connection with this Agreement, whether in contract, tort (including negligence) or otherwise, shall not exceed the fees paid in the three months preceding the claim, and the Supplier shall not be liable for any loss of data or loss of profits however arising.\"""",
    "In California, is an employee non-solicitation-of-customers clause enforceable after Edwards v. Arthur Andersen and the 2024 amendments (Business and Professions Code 16600.1 and 16600.5)? What should an employer with such clauses do now?",
    "A 45-year-old man has sudden tearing chest pain radiating to the back, a 30 mmHg difference in systolic pressure between the arms and a widened mediastinum on chest X-ray. Differential diagnosis and immediate management?",
    "28F with fatigue, weight gain, cold intolerance and heavy periods. TSH 1.8 (normal), free T4 low. Interpret these results, give the differential and the next investigations.",
    "I'm a UK resident landlord with three buy-to-let flats. Compare keeping them personally with moving them into a limited company: income tax with the Section 24 restriction, corporation tax, SDLT and CGT on transfer, and extracting profits.",
    "Comparatif fiscal et social : SASU ou EURL à l'IS pour un consultant en France avec 120 k€ de chiffre d'affaires, en tenant compte des cotisations, de la rémunération et des dividendes.",
    """Review this indemnity from a SaaS master agreement governed by New York law and list the risks for us as the vendor, with suggested redlines:

"Vendor shall indemnify, defend and hold harmless Customer and its affiliates from and against any and all losses, damages, liabilities, costs and expenses (including attorneys' fees) arising out of or relating to the Services, any breach of this Agreement by Vendor, or any act or omission of Vendor or its subcontractors.\"""",
    "Under the GDPR, can we rely on legitimate interest to use customers' purchase histories to train an internal recommendation model? Walk through the three-part test and the Article 6(4) compatibility assessment.",
    "A 6-year-old has had fever for 5 days with non-exudative conjunctivitis, strawberry tongue, cracked lips and swollen hands. Differential, diagnostic criteria, and what must be done urgently?",
    "A patient on warfarin is started on clarithromycin and fluconazole. Explain the interaction mechanisms, the expected effect on INR, and how you'd manage it.",
    "Our SAFE has a $10M post-money cap and a 20% discount. The Series A is at $30M pre-money with the option pool topped up to 10% pre-money. Compute the SAFE conversion and the founders' dilution, and explain the option-pool shuffle.",
    "Are class-action waivers in consumer click-wrap terms enforceable, EU vs US?",
    "A 12 m simply supported steel beam (IPE 400, S355) carries 25 kN/m dead load and 15 kN/m imposed load. Check bending, shear and deflection to Eurocode 3 and say whether it passes.",
    "ABG: pH 7.29, PaCO2 30 mmHg, HCO3 14, Na 140, Cl 104, albumin 2.0 g/dL. Give a full interpretation including the albumin-corrected anion gap and the delta-delta.",
    "How would a 10-year retail lease with variable rent tied to sales and a purchase option be accounted for by the lessee under IFRS 16 versus ASC 842? Give the year-1 journal entries.",
    "Delaware: our board is considering a management buyout. Walk through Revlon duties, the MFW conditions, and what the special committee must do to get business judgment review.",
    "US citizen living and working in Germany: compare the Foreign Earned Income Exclusion with the Foreign Tax Credit given German tax rates, and explain what happens with my Roth IRA and my US ETFs (PFIC issues) on both sides.",
    "Threat-model our auth: a single-page app using the OAuth implicit grant, access tokens in localStorage, refresh tokens that never rotate. Which attacks apply and what exactly should change?",
    "34-year-old woman, 8 weeks postpartum, with palpitations, weight loss, a painless goitre, low TSH and low radioiodine uptake. What is the diagnosis, how do you distinguish it from Graves' disease, and how is it managed?",
    "Can a developer in India claim copyright in code written with an AI assistant under the Copyright Act 1957? Contrast this with the US Copyright Office's current position.",
    "Analyse the likely effect of a 25% tariff on imported steel on employment in downstream manufacturing, using partial-equilibrium reasoning and the evidence from the 2002 and 2018 US steel tariffs.",
    "Our winter wheat shows yellowing of the older leaves starting at the tips, on sandy soil after heavy rain. Differentiate nitrogen, potassium and sulphur deficiency from disease, and say which tests to run.",
]

HARD["deep_technical"] = [
    "Is P=NP? Give the strongest known evidence either way.",
    "Compare the failure modes of Raft, Multi-Paxos and PBFT under network partitions, clock drift and Byzantine faults.",
    "My transformer's loss spikes and then diverges around step 40k (AdamW, lr 3e-4, bf16, no warmup decay issues that I can see). Explain the likely mechanisms and a systematic way to diagnose it.",
    "Why does Dekker's algorithm need an mfence on x86?",
    "Explain how Spectre v1 works at the microarchitectural level and why retpolines don't mitigate it.",
    "Why does double descent happen in overparameterized models? Give the random-features explanation and what it predicts.",
    "Explain the Curry–Howard correspondence with examples in dependent type theory, and where it breaks down for classical logic.",
    "How does Linux RCU guarantee grace periods without any locking on the read side, and how does that differ between preemptible and non-preemptible kernels?",
    "Why can't Shor's algorithm break RSA-2048 on today's NISQ machines? Estimate the logical and physical qubit counts needed with surface-code error correction.",
    "Explain why snapshot isolation allows write skew, give a concrete example, and explain how Serializable Snapshot Isolation in Postgres detects it.",
    "What is the current understanding of why Adam sometimes generalizes worse than SGD on vision tasks?",
    "Explain how the Riemann hypothesis is connected to the distribution of primes, including the explicit formula.",
    "How do leveled and tiered LSM-tree compaction trade off write, read and space amplification? Quantify it.",
    "Explain the renormalization group intuitively but correctly, and why it explains universality in critical phenomena.",
    "Why does gradient descent–ascent cycle on bilinear games, and what is known about the convergence of GAN training?",
    "Explique en détail pourquoi les réseaux de neurones très profonds souffrent de gradients évanescents ou explosifs, et comment les connexions résiduelles et la normalisation y remédient.",
    "How does TLS 1.3 0-RTT resumption open the door to replay attacks, and what must servers do about it?",
    "Why is BGP vulnerable to route hijacking, and what exactly do RPKI and BGPsec protect against?",
    "How does Casper FFG finality work in Ethereum proof-of-stake, and what does it guarantee with up to 1/3 Byzantine stake?",
    "What does the Hessian spectrum tell us about the edge-of-stability phenomenon in full-batch gradient descent?",
    "Compare linearizability and sequential consistency: give a history that is sequentially consistent but not linearizable, and explain why linearizability is compositional.",
    "What does Tao's 2019 Collatz result actually prove?",
]

HARD["logic_planning"] = [
    "On an island of knights (always truthful) and knaves (always lie) you meet A, B and C. A says: 'Exactly one of us is a knight.' B says: 'A is a knave.' C says: 'B and I are the same type.' Determine each one's type, or show the information is insufficient, justifying every step.",
    "Ann, Ben, Cal, Dee and Eve sit in a row of five seats. Ann is not at either end. Ben sits somewhere to the right of Cal. Dee and Eve sit next to each other. Cal is not next to Ann. Eve is not in the middle seat. List every valid arrangement and prove there are no others.",
    "12 coins, one is counterfeit and either heavier or lighter. Using a balance three times, find the fake and whether it's heavier or lighter. Give the complete decision tree.",
    "100 prisoners and a light bulb: design a strategy that guarantees release and estimate the expected number of days it takes.",
    "Plan a 10-day trip to Japan for two: Tokyo, Kyoto and Hiroshima, decide whether the JR Pass is worth it, at most 3 hotel changes, $4000 budget excluding flights, one of us can't manage lots of stairs, and we must be in Osaka on day 6 for a wedding.",
    "Schedule these tasks on 2 identical machines to minimize the makespan. Durations: T1=3, T2=2, T3=4, T4=2, T5=5, T6=3, T7=1. Precedences: T1→T3, T2→T4, T3→T5, T4→T5, T6→T7. Give an optimal schedule and prove it is optimal.",
    "Blue-eyed islanders: explain rigorously why all 100 blue-eyed people leave on day 100, and what new information the guru's statement actually provides.",
    "Solve this sudoku and explain the key deductions: 53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79",
    "Monty Hall variant: 4 doors, you pick one, the host opens one of the other three at random (he doesn't know where the car is) and it happens to be empty. Should you switch, and to which door? Prove it.",
    "Build a one-week roster for 6 nurses over 3 shifts a day (morning, evening, night): exactly 2 nurses per shift, nobody works more than 5 shifts, no night shift followed by a morning shift, nurse A never works nights, and B and C never share a shift. Give a valid roster or prove none exists.",
    "Where exactly does the two-envelope argument fail?",
    "Solve the zebra puzzle with full deductions.",
    "Seat 12 wedding guests at 3 round tables of 4. Ana and Bo must be at the same table; Cy can't sit with Di or Ed; Fay and Gus must be at different tables; Hal must share a table with Ana or Ivy; Jo and Kim must be seated next to each other; Lu must not be next to Kim. Find a seating or prove it's impossible.",
    "Bridge and torch: five people take 1, 2, 5, 10 and 12 minutes to cross, at most two at a time, one torch, and the torch lasts 30 minutes. Can they all cross? Prove your answer is optimal.",
    "Five rational pirates split 100 gold coins (seniority order, proposals need at least half the votes, they prefer to live, then more gold, then to see others thrown overboard). Derive the proposal by backward induction, then explain what happens with 205 pirates.",
    "Is this argument valid? Prove it by natural deduction or give a countermodel: 'All philosophers admire some logician. No logician admires any philosopher. Therefore, some philosopher is not a logician.'",
    "We must move 4 teams to a new office over 3 weekends: Sales (30 people), Engineering (45), Support (20), Finance (10). Movers handle at most 50 people per weekend. Engineering and Support must move the same weekend because they share on-call; Finance can't move on the last weekend; Sales must move before Support. Find all valid plans or prove there are none.",
    "Solve the Sum and Product puzzle (Freudenthal): two integers 1 < x < y, x + y ≤ 100; S knows the sum, P the product. P: 'I don't know the numbers.' S: 'I knew you didn't.' P: 'Now I know them.' S: 'Now I know them too.' Find them and justify uniqueness.",
    "Zehn Gefangene stehen in einer Reihe und tragen rote oder blaue Hüte; jeder sieht nur die Hüte vor sich. Von hinten nach vorne muss jeder seine Hutfarbe nennen. Finde eine Strategie, bei der garantiert mindestens neun überleben, und beweise, dass es nicht besser geht.",
    "Cheryl's birthday: the ten options are May 15, May 16, May 19, June 17, June 18, July 14, July 16, August 14, August 15, August 17. Albert is told the month and Bernard the day. Albert: 'I don't know, but I know Bernard doesn't either.' Bernard: 'At first I didn't know, but now I do.' Albert: 'Then I know too.' Solve it, then say what changes if June 18 is replaced by June 16.",
    "Create a round-robin schedule for 10 teams over 9 rounds, each pair meeting exactly once, with home/away assignments so that no team plays three home or three away games in a row. Show the whole schedule and argue it satisfies the constraint.",
    "The Lion lies on Mondays, Tuesdays and Wednesdays; the Unicorn lies on Thursdays, Fridays and Saturdays; otherwise both tell the truth. One day the Lion says 'Yesterday I was lying' and the Unicorn says 'So was I.' What day is it? Then solve the version where each says 'Tomorrow I will lie.'",
]

# ---------------------------------------------------------------------------------------------
# CHECK table: disjoint from the training data. expect = which model the router should pick.
# ---------------------------------------------------------------------------------------------

TABLE_WEAK = [
    "thanks!",
    "What is 2+2?",
    "Translate 'good morning' to French",
    "Explain the difference between TCP and UDP",
    "Hey, hope your week is going well!",
    "What's the capital of Australia?",
    "How many ounces are in a pound?",
    "Who painted the Mona Lisa?",
    "Write a haiku about autumn leaves.",
    "Fix the grammar: \"me and him goes to the store yesterday\"",
    "What's the sentiment of this review: \"The battery died after two days. Total waste of money.\"",
    "How do I get a coffee stain out of a white shirt?",
    "How do I lowercase a string in JavaScript?",
    "Make this into a bulleted list: eggs, milk, bread, butter",
    "What is inflation, in simple terms?",
    "Write a two-sentence out-of-office reply for when I'm on vacation until Monday.",
    "What is 7 times 8?",
    "How many days are in a leap year?",
    "Pull out the email address from this: \"For questions contact maria.lopez@acme.io or call the front desk.\"",
    "Translate \"thank you very much\" into Japanese",
    "How do I delete a local git branch?",
    "¿En qué año llegó Colón a América?",
    "What's the boiling point of water in Fahrenheit?",
    "Can you suggest a name for my new goldfish?",
]

TABLE_STRONG = [
    "Prove Fermat's last theorem for n=3",
    "Derive the Black–Scholes PDE from first principles using Ito's lemma",
    "Prove that every finite integral domain is a field.",
    "Prove the Cauchy–Schwarz inequality for real inner product spaces and characterise the equality case.",
    "Prove that every group of order p^2, with p prime, is abelian.",
    "Prove that the halting problem is undecidable.",
    "Design a globally distributed, strongly consistent key-value store. Discuss replication, partitioning, failure handling and latency trade-offs.",
    "Implement a thread-safe LRU cache in Rust with O(1) get and put, and explain your locking strategy.",
    "Derive the Kalman filter predict and update equations from Bayesian estimation for a linear Gaussian state-space model.",
    "A 24-year-old woman has fever, joint pain, a malar rash and proteinuria. Give a differential diagnosis and the workup you would order.",
    "Implement a concurrent skip list in Java with lock-free insert, delete and search, and argue that it is linearizable.",
    "Explain why dot-product attention is scaled by 1/sqrt(d_k), with the variance argument, and what goes wrong in the softmax without it.",
    "Find all functions f: R → R such that f(x+y) = f(x) + f(y) and f(xy) = f(x)f(y) for all real x and y.",
    "In how many ways can a 2×10 board be tiled with dominoes and L-shaped trominoes? Derive the recurrence.",
    "Solve the 'hardest logic puzzle ever': three gods, True, False and Random, answer yes/no questions with 'da' or 'ja' in an unknown language. Identify them with three questions and prove the strategy works.",
    "Ist nach deutschem Recht ein nachvertragliches Wettbewerbsverbot ohne Karenzentschädigung gegenüber einem Arbeitnehmer wirksam? Bitte mit Bezug auf §§ 74 ff. HGB und die Rechtsprechung des BAG.",
    "Compare an S corporation with an LLC taxed as a partnership for a two-founder US startup that plans to raise venture capital.",
    "Explain the PCP theorem and why it implies that MAX-3SAT cannot be approximated beyond 7/8 unless P=NP.",
    "Write a mark-and-sweep garbage collector in C for a small bytecode VM with objects, arrays and closures.",
    "Derive the maximum likelihood estimators of the mean vector and covariance matrix of a multivariate Gaussian.",
    "Design an algorithm that finds the k-th smallest element of the union of two sorted arrays in O(log k) time, and prove it correct.",
    "Schedule 8 exams (A–H) over 3 days so that no student sits two exams on the same day and no day has more than 3 exams. Students' exam sets: {A,B,C}, {A,D}, {B,E,F}, {C,G}, {D,H}, {E,H}, {F,G}, {A,H}. Find a valid timetable or prove none exists.",
    "Explain the proof of the CAP theorem and how PACELC refines it.",
    "Evaluate the improper integral of sin(x)/x from 0 to infinity rigorously, justifying every interchange of limits.",
]


# ---------------------------------------------------------------------------------------------

def normalise(s):
    """Lowercase, drop punctuation/symbols, collapse whitespace."""
    s = unicodedata.normalize("NFKC", s).lower()
    s = "".join(ch for ch in s if not unicodedata.category(ch).startswith(("P", "S")))
    return re.sub(r"\s+", " ", s).strip()


def build_rows():
    rows = []
    for label, families in ((1, EASY), (0, HARD)):
        for group in sorted(families):
            for p in families[group]:
                rows.append({"prompt": p, "weak": label, "strong": 1, "group": group})
    rows.sort(key=lambda r: (r["group"],))  # stable: keeps the written order inside a family
    return rows


def build_table():
    return [{"prompt": p, "expect": "weak"} for p in TABLE_WEAK] + [
        {"prompt": p, "expect": "strong"} for p in TABLE_STRONG
    ]


def check(rows, table):
    errors = []
    overlap = set(EASY) & set(HARD)
    if overlap:
        errors.append(f"family in both classes: {sorted(overlap)}")
    seen = {}
    for r in rows:
        n = normalise(r["prompt"])
        if n in seen:
            errors.append(f"duplicate training prompt: {r['prompt']!r} ~ {seen[n]!r}")
        seen[n] = r["prompt"]
    tseen = set()
    for t in table:
        n = normalise(t["prompt"])
        if n in tseen:
            errors.append(f"duplicate table prompt: {t['prompt']!r}")
        tseen.add(n)
        if n in seen:
            errors.append(f"table prompt also in training: {t['prompt']!r} ~ {seen[n]!r}")
    return errors


def write_jsonl(path, objs):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for o in objs:
            f.write(json.dumps(o, ensure_ascii=False) + "\n")


def main():
    rows = build_rows()
    table = build_table()
    errors = check(rows, table)
    if errors:
        for e in errors:
            print("error:", e, file=sys.stderr)
        return 1
    write_jsonl(os.path.join(HERE, "everyday.jsonl"), rows)
    write_jsonl(os.path.join(HERE, "everyday-table.jsonl"), table)
    easy = sum(r["weak"] for r in rows)
    print(
        f"everyday.jsonl: {len(rows)} rows ({easy} easy, {len(rows) - easy} hard) in "
        f"{len(EASY) + len(HARD)} families; everyday-table.jsonl: {len(table)} rows "
        f"({len(TABLE_WEAK)} weak, {len(TABLE_STRONG)} strong)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
