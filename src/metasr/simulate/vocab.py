"""Word lists the simulator draws from (SYNTHETIC data: every name, title and journal it makes up
is fictional; the lists only give them a realistic shape)."""

from __future__ import annotations

SURNAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson",
    "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards",
    "Collins", "Stewart", "Morris", "Rogers", "Reed", "Cook", "Morgan", "Bell", "Murphy", "Bailey",
    "Cooper", "Richardson", "Cox", "Howard", "Ward", "Peterson", "Gray", "Watson", "Brooks", "Kelly",
    "Sanders", "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson", "Coleman", "Jenkins", "Perry",
    "Powell", "Long", "Patterson", "Hughes", "Flores", "Washington", "Butler", "Simmons", "Foster",
    "Gonzales", "Bryant", "Alexander", "Russell", "Griffin", "Hayes", "Myers", "Ford", "Hamilton",
    "Graham", "Sullivan", "Wallace", "Woods", "Cole", "West", "Jordan", "Owens", "Reynolds", "Fisher",
    "Ellis", "Harrison", "Gibson", "McDonald", "Cruz", "Marshall", "Ortiz", "Gomez", "Murray", "Freeman",
    "Wells", "Webb", "Simpson", "Stevens", "Tucker", "Porter", "Hunter", "Hicks", "Crawford", "Henry",
    "Boyd", "Mason", "Kennedy", "Warren", "Dixon", "Ramos", "Burns", "Gordon", "Shaw", "Holmes", "Rice",
    "Hunt", "Black", "Daniels", "Palmer", "Mills", "Nichols", "Grant", "Knight", "Ferguson", "Stone",
    "Hawkins", "Dunn", "Perkins", "Hudson", "Spencer", "Gardner", "Stephens", "Payne", "Pierce", "Berry",
    "Matthews", "Arnold", "Wagner", "Willis", "Ray", "Watkins", "Olson", "Carroll", "Duncan", "Snyder",
    "Hart", "Cunningham", "Bradley", "Lane", "Andrews", "Ruiz", "Harper", "Fox", "Riley", "Armstrong",
    "Carpenter", "Weaver", "Greene", "Lawrence", "Elliott", "Chavez", "Sims", "Austin", "Peters",
    "Kelley", "Franklin", "Lawson", "Fields", "Ryan", "Schmidt", "Carr", "Castillo", "Wheeler",
    "Chapman", "Oliver", "Montgomery", "Richards", "Williamson", "Johnston", "Banks", "Meyer", "Bishop",
    "McCoy", "Howell", "Morrison", "Hansen", "Harvey", "Little", "Burton", "Stanley", "Nguyen", "George",
    "Jacobs", "Reid", "Fuller", "Lynch", "Dean", "Gilbert", "Romero", "Welch", "Larson", "Frazier",
    "Burke", "Hanson", "Day", "Moreno", "Bowman", "Medina", "Fowler", "Brewer", "Hoffman", "Carlson",
    "Silva", "Pearson", "Holland", "Douglas", "Fleming", "Jensen", "Vargas", "Byrd", "Davidson",
    "Hopkins", "May", "Terry", "Herrera", "Wade", "Soto", "Walters", "Curtis", "Neal", "Caldwell",
    "Lowe", "Jennings", "Barnett", "Graves", "Jimenez", "Horton", "Shelton", "Barrett", "Obrien",
    "Castro", "Sutton", "Gregory", "McKinney", "Lucas", "Miles", "Craig", "Rodriquez", "Chambers",
    "Holt", "Lambert", "Fletcher", "Watts", "Bates", "Hale", "Rhodes", "Pena", "Beck", "Newman",
    "Haynes", "McDaniel", "Mendez", "Bush", "Vaughn", "Parks", "Dawson", "Santiago", "Norris", "Hardy",
    "Love", "Steele", "Curry", "Powers", "Schultz", "Barker", "Guzman", "Page", "Munoz", "Ball",
    "Keller", "Chandler", "Weber", "Leonard", "Walsh", "Lyons", "Ramsey", "Wolfe", "Schneider",
    "Mullins", "Benson", "Sharp", "Bowen", "Daniel", "Barber", "Cummings", "Hines", "Baldwin",
    "Griffith", "Valdez", "Hubbard", "Salazar", "Reeves", "Warner", "Stevenson", "Burgess", "Santos",
    "Tate", "Cross", "Garner", "Mann", "Mack", "Moss", "Thornton", "Dennis", "McGee", "Farmer",
    "Delgado", "Aguilar", "Vega", "Glover", "Manning", "Cohen", "Harmon", "Rodgers", "Robbins",
    "Newton", "Todd", "Blair", "Higgins", "Ingram", "Reese", "Cannon", "Strickland", "Townsend",
    "Potter", "Goodwin", "Walton", "Rowe", "Hampton", "Ortega", "Patton", "Swanson", "Joseph",
    "Francis", "Goodman", "Maldonado", "Yates", "Becker", "Erickson", "Hodges", "Rios", "Conner",
    "Adkins", "Webster", "Norman", "Malone", "Hammond", "Flowers", "Cobb", "Moody", "Quinn", "Blake",
    "Maxwell", "Pope", "Floyd", "Osborne", "Paul", "McCarthy", "Guerrero", "Lindsey", "Estrada",
    "Sandoval", "Gibbs", "Tyler", "Gross", "Fitzgerald", "Stokes", "Doyle", "Sherman", "Saunders",
    "Wise", "Colon", "Gill", "Alvarado", "Greer", "Padilla", "Simon", "Waters", "Nunez", "Ballard",
    "Schwartz", "McBride", "Houston", "Christensen", "Klein", "Pratt", "Briggs", "Parsons", "McLaughlin",
    "Zimmerman", "French", "Buchanan", "Moran", "Copeland", "Roy", "Pittman", "Brady", "McCormick",
    "Holloway", "Brock", "Poole", "Frank", "Logan", "Owen", "Bass", "Marsh", "Drake", "Wong", "Jefferson",
    "Park", "Morton", "Abbott", "Sparks", "Patrick", "Norton", "Huff", "Clayton", "Massey", "Lloyd",
    "Figueroa", "Carson", "Bowers", "Roberson", "Barton", "Tran", "Lamb", "Harrington", "Casey",
    "Boone", "Cortez", "Clarke", "Mathis", "Singleton", "Wilkins", "Cain", "Bryan", "Underwood", "Hogan",
    "McKenzie", "Collier", "Luna", "Phelps", "McGuire", "Allison", "Bridges", "Wilkerson", "Nash",
    "Summers", "Atkins", "Tanaka", "Suzuki", "Watanabe", "Nakamura", "Kobayashi", "Yamamoto", "Sato",
    "Chen", "Wang", "Zhang", "Liu", "Yang", "Huang", "Zhao", "Zhou", "Xu", "Sun", "Kumar", "Sharma",
    "Singh", "Patel", "Gupta", "Khan", "Ahmed", "Hassan", "Kaya", "Yilmaz", "Demir", "Novak", "Horvat",
    "Kowalski", "Nowak", "Wisniewski", "Lindqvist", "Johansson", "Karlsson", "Nielsen", "Virtanen",
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
    "Dubois", "Durand", "Lefebvre", "Moreau", "Laurent", "Fournier", "Girard", "Bonnet", "Dupont",
    "Fischer", "Becker", "Wolf", "Schulz", "Koch", "Richter", "Klein", "Zimmermann", "Braun", "Hofmann",
    "Oliveira", "Pereira", "Costa", "Ferreira", "Almeida", "Ribeiro", "Carvalho", "Teixeira", "Mendes",
    "Ivanov", "Petrov", "Smirnov", "Popescu", "Papadopoulos", "Kim", "Lee", "Choi", "Jung", "Kang",
]
# Surnames whose accents some databases keep and others drop (an author-format difference).
ACCENTED_SURNAMES = [
    "Müller", "Schäfer", "Sánchez", "García", "Martínez", "Pérez", "Gómez", "Fernández", "López",
    "Rodríguez", "Hernández", "Núñez", "Jiménez", "Álvarez", "Gonçalves", "João", "Søndergaard",
    "Østergaard", "Björk", "Åberg", "Lévesque", "Bélanger", "Côté", "Gagné", "Dvořák", "Novák",
    "Wójcik", "Kovačević", "Öztürk", "Çelik", "Şahin", "Yıldız", "Nováková", "Krüger", "Göransson",
    "García-López", "Ruiz-Martínez", "Smith-Jones", "Al-Hassan", "O'Connor",
]
GIVEN_NAMES = [
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth",
    "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark", "Margaret", "Paul", "Sandra",
    "Steven", "Ashley", "Andrew", "Emily", "Kenneth", "Donna", "Joshua", "Michelle", "Kevin", "Carol",
    "Brian", "Amanda", "George", "Melissa", "Edward", "Deborah", "Ronald", "Stephanie", "Timothy",
    "Rebecca", "Jason", "Laura", "Jeffrey", "Helen", "Ryan", "Sharon", "Jacob", "Cynthia", "Gary",
    "Kathleen", "Nicholas", "Amy", "Eric", "Shirley", "Jonathan", "Angela", "Stephen", "Anna", "Larry",
    "Ruth", "Justin", "Brenda", "Scott", "Pamela", "Wei", "Li", "Hiroshi", "Yuki", "Ahmed", "Fatima",
    "Priya", "Rahul", "Sven", "Ingrid", "Lars", "Astrid", "Giulia", "Marco", "Sophie", "Pierre",
    "Hans", "Katrin", "Ana", "Pedro", "Olga", "Ivan", "Min-jun", "Ji-woo", "Mehmet", "Elif",
]
MIDDLE_INITIALS = "ABCDEFGHJKLMNPRST"

# Title pieces (clinical-trial style). No digits: a digit lost in a truncated title would make
# two copies of one record look like different works (de-duplication compares title numbers).
INTERVENTIONS = [
    "aerobic exercise", "resistance training", "mindfulness-based stress reduction", "cognitive behavioural therapy",
    "acupuncture", "early mobilisation", "telemonitoring", "nurse-led follow-up", "vitamin D supplementation",
    "omega-three fatty acids", "intermittent fasting", "a Mediterranean diet", "low-dose aspirin", "metformin",
    "statin therapy", "intensive blood pressure control", "home-based cardiac rehabilitation",
    "motivational interviewing", "smartphone-guided self-management", "yoga", "tai chi", "music therapy",
    "transcranial magnetic stimulation", "probiotic supplementation", "peer support", "prehabilitation",
    "high-flow nasal oxygen", "restrictive transfusion", "early enteral nutrition", "pelvic floor training",
    "virtual reality training", "a structured education programme", "community health worker visits",
    "pharmacist-led medication review", "dexmedetomidine", "ketamine infusion", "regional anaesthesia",
    "compression therapy", "inspiratory muscle training", "blue-light filtering lenses", "melatonin",
    "zinc supplementation", "iron supplementation", "sodium reduction", "text-message reminders",
    "collaborative care", "family therapy", "problem-solving therapy", "dry needling", "whole-body vibration",
    "hydrotherapy", "nordic walking", "dance therapy", "cold water immersion", "heat therapy",
    "neuromuscular electrical stimulation", "robot-assisted gait training", "speech therapy",
    "occupational therapy", "spinal manipulation", "massage therapy", "relaxation training",
]
COMPARATORS = ["usual care", "placebo", "waiting list", "standard care", "sham treatment", "health education",
               "attention control", "no intervention", "conventional therapy", "routine follow-up"]
CONDITIONS = [
    "chronic low back pain", "knee osteoarthritis", "heart failure", "chronic obstructive pulmonary disease",
    "major depressive disorder", "generalised anxiety disorder", "insomnia", "migraine", "multiple sclerosis",
    "Parkinson disease", "stroke", "rheumatoid arthritis", "fibromyalgia", "obesity", "gestational diabetes",
    "chronic kidney disease", "atrial fibrillation", "hypertension", "asthma", "psoriasis", "atopic dermatitis",
    "irritable bowel syndrome", "ulcerative colitis", "breast cancer", "prostate cancer", "colorectal cancer",
    "lung cancer", "dementia", "mild cognitive impairment", "schizophrenia", "bipolar disorder",
    "attention deficit hyperactivity disorder", "autism spectrum disorder", "cerebral palsy", "sepsis",
    "acute respiratory distress syndrome", "hip fracture", "osteoporosis", "chronic neck pain",
    "plantar fasciitis", "tendinopathy", "lymphoedema", "peripheral artery disease", "venous leg ulcers",
    "pressure injuries", "urinary incontinence", "polycystic ovary syndrome", "endometriosis",
    "postpartum depression", "alcohol use disorder", "opioid use disorder", "smoking cessation",
    "chronic fatigue syndrome", "long COVID", "tinnitus", "glaucoma", "dry eye disease", "periodontitis",
    "epilepsy", "traumatic brain injury",
]
POPULATIONS = [
    "older adults", "adults", "children", "adolescents", "women", "men", "outpatients", "inpatients",
    "primary care patients", "nursing home residents", "veterans", "pregnant women", "young adults",
    "community-dwelling adults", "hospitalised patients", "intensive care patients", "athletes",
    "postmenopausal women", "school-aged children", "rural populations", "healthcare workers",
    "patients after surgery", "frail older people", "low-income adults", "university students",
]
OUTCOME_WORDS = [
    "pain", "physical function", "quality of life", "depressive symptoms", "anxiety", "sleep quality",
    "fatigue", "mortality", "hospital readmission", "walking speed", "balance", "grip strength",
    "cognitive function", "glycaemic control", "blood pressure", "body weight", "exercise capacity",
    "dyspnoea", "disability", "self-efficacy", "adherence", "falls", "relapse", "symptom severity",
    "return to work", "caregiver burden", "length of stay", "medication use", "inflammatory markers",
    "bone mineral density", "lung function", "muscle strength", "wellbeing", "stress", "loneliness",
]
DESIGNS = [
    "a randomised controlled trial", "a pragmatic randomised trial", "a cluster randomised trial",
    "a multicentre randomised trial", "a pilot randomised trial", "a prospective cohort study",
    "a randomised crossover trial", "a feasibility trial", "a controlled before-after study",
    "a non-inferiority trial", "a double-blind randomised trial", "an assessor-blinded randomised trial",
]
QUALIFIERS = ["short-term", "long-term", "twelve-week", "six-month", "one-year", "supervised", "unsupervised",
              "group-based", "individualised", "remote", "face-to-face", "brief", "intensive", "low-intensity",
              "high-intensity", "stepped", "tailored", "digital", "blended", "home-based"]
COUNTRIES = ["Australia", "Brazil", "Canada", "China", "Denmark", "France", "Germany", "India", "Italy",
             "Japan", "Netherlands", "Norway", "Spain", "Sweden", "Switzerland", "Turkey",
             "United Kingdom", "United States", "South Korea", "Iran", "Egypt", "Nigeria", "Mexico", "Chile"]
ABSTRACT_WORDS = (
    "patients participants randomised allocated intervention control group baseline follow-up weeks months "
    "primary secondary outcome outcomes measured assessed analysis intention-to-treat significant difference "
    "between groups mean change score improved reduced increased compared trial study results conclusion "
    "evidence effect effects adverse events reported safety feasibility adherence recruitment retention "
    "sample size power clinical relevance confidence interval standardised questionnaire scale validated "
    "protocol registered centres eligible criteria inclusion exclusion screened enrolled completed dropout "
    "moderate small large heterogeneity subgroup sensitivity exploratory secondary endpoints").split()

# Journal names: fictional, built from a field and a pattern, each with an NLM-style abbreviation
# whose every word is a prefix of the full word (how NLM abbreviates).
FIELDS = [
    ("Cardiology", "Cardiol"), ("Neurology", "Neurol"), ("Oncology", "Oncol"), ("Psychiatry", "Psychiatry"),
    ("Paediatrics", "Paediatr"), ("Rheumatology", "Rheumatol"), ("Nephrology", "Nephrol"),
    ("Gastroenterology", "Gastroenterol"), ("Endocrinology", "Endocrinol"), ("Dermatology", "Dermatol"),
    ("Pulmonology", "Pulmonol"), ("Anaesthesia", "Anaesth"), ("Rehabilitation", "Rehabil"), ("Nursing", "Nurs"),
    ("Epidemiology", "Epidemiol"), ("Geriatrics", "Geriatr"), ("Surgery", "Surg"), ("Ophthalmology", "Ophthalmol"),
    ("Urology", "Urol"), ("Haematology", "Haematol"), ("Physiotherapy", "Physiother"), ("Nutrition", "Nutr"),
    ("Psychology", "Psychol"), ("Pharmacology", "Pharmacol"), ("Gynaecology", "Gynaecol"),
    ("Orthopaedics", "Orthop"), ("Immunology", "Immunol"), ("Sleep Medicine", "Sleep Med"),
    ("Pain Medicine", "Pain Med"), ("Sports Medicine", "Sports Med"), ("Public Health", "Public Health"),
    ("Primary Care", "Prim Care"), ("Critical Care", "Crit Care"), ("Emergency Medicine", "Emerg Med"),
    ("Behavioural Medicine", "Behav Med"), ("Clinical Nutrition", "Clin Nutr"), ("Occupational Therapy", "Occup Ther"),
    ("Respiratory Medicine", "Respir Med"), ("Vascular Medicine", "Vasc Med"), ("Palliative Care", "Palliat Care"),
]
JOURNAL_PATTERNS = [
    ("Journal of {f}", "J {a}"), ("International Journal of {f}", "Int J {a}"), ("Annals of {f}", "Ann {a}"),
    ("{f} Research", "{a} Res"), ("European Journal of {f}", "Eur J {a}"), ("Clinical {f}", "Clin {a}"),
    ("Archives of {f}", "Arch {a}"), ("Advances in {f}", "Adv {a}"), ("Scandinavian Journal of {f}", "Scand J {a}"),
    ("American Journal of {f}", "Am J {a}"), ("Asian Journal of {f}", "Asian J {a}"),
    ("{f} Reports", "{a} Rep"), ("Current {f}", "Curr {a}"), ("Frontiers of {f}", "Front {a}"),
    ("British Journal of {f}", "Br J {a}"), ("Contemporary {f}", "Contemp {a}"),
]
CONGRESSES = [("Abstracts of the European Congress of {f}", "Abstr Eur Congr {a}"),
              ("Proceedings of the Annual Meeting of {f}", "Proc Annu Meet {a}")]
