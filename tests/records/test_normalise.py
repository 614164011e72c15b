import pytest
from hypothesis import given, strategies as st

from metasr.records.normalise import (
    first_page,
    is_notice,
    journal_key,
    journals_compatible,
    page_ranges,
    pages_compatible,
    record_kind,
    start_pages,
    surname,
    title_key,
    title_numbers,
    title_words_agree,
    word_variants,
)
from metasr.records.table import clean_doi, clean_pmid, clean_year


def test_title_key_drops_case_markup_annotations_and_brackets():
    assert title_key("[Breast Cancer: <i>basics</i>]. [Erratum appears in X 2019;3:4]") == \
        "breast cancer basics"
    assert title_key("Anti-TNF & α-synuclein") == "anti tnf and alpha synuclein"
    assert title_key("Wörmann’s test") == title_key("Wormann's TEST")
    assert title_key("[Protective effects of incretin]. [Japanese]") == \
        "protective effects of incretin"


@given(st.text(max_size=60))
def test_title_key_is_idempotent_and_case_blind(text):
    key = title_key(text)
    assert title_key(key) == key
    assert title_key(text.upper()) == title_key(text.lower()) or not text.isascii()


def test_surname_from_each_export_style():
    assert surname("Wörmann, Bernhard") == "wormann"
    assert surname("Wormann B") == "wormann"
    assert surname("Lucas J.S.") == "lucas"
    assert surname("J. S. Lucas") == "lucas"
    assert surname("Sanchez del Pulgar, J.") == "sanchezdelpulgar"


def test_journal_abbreviations_are_compatible():
    full = journal_key("Journal of parenteral and enteral nutrition")
    assert journals_compatible(full, journal_key("J Parenter Enteral Nutr"))
    assert journals_compatible(full, journal_key("JPEN J Parenter Enteral Nutr"))
    assert journals_compatible(journal_key("Langenbeck's Archives of Surgery"),
                               journal_key("Langenbecks Arch Surg"))
    assert not journals_compatible(journal_key("Chest"), journal_key("Thorax"))
    assert not journals_compatible(journal_key("Journal of Neurology"),
                                   journal_key("J Neurol Neurosurg Psychiatry"))


def test_pages():
    assert first_page("221-8") == "221" and first_page("e0006219") == "6219"
    assert start_pages("233-8, 230-5, 246-51") == {"233", "230", "246"}
    assert start_pages("13-May") == frozenset()  # a spreadsheet turned 5-13 into a date
    assert first_page("") == ""


def test_record_kinds():
    assert record_kind(title_key("Erratum: Iron rims"), "", "", "") == "notice"
    assert record_kind("errors in table", "Published Erratum", "", "") == "notice"
    assert record_kind("a study", "Retracted Publication", "", "") == ""
    assert record_kind("a study", "Conference Abstract", "", "") == "conference"
    assert record_kind("a study", "Journal Article", "Proceedings of the National Academy of "
                       "Sciences of the United States of America", "") == ""
    assert record_kind("a study", "", "ClinicalTrials.gov", "") == "registration"
    assert title_numbers("outcome at 12 months part ii") == ("12", "ii")


def test_identifier_cleaning():
    assert clean_doi("https://doi.org/10.1001/JAMA.2019.1") == "10.1001/jama.2019.1"
    assert clean_doi("http://dx.doi.org/10.1186/s12919-018-0099-8.") == "10.1186/s12919-018-0099-8"
    assert clean_doi("not a doi") == ""
    assert clean_pmid("31403674 [pmid]") == "31403674"
    assert clean_year("2017 Feb") == "2017" and clean_year("Sep 18") == ""


@pytest.mark.parametrize("pages, expected", [
    ("083-087", [(83, 87)]), ("83-7", [(83, 87)]), ("1324-7", [(1324, 1327)]),
    ("199-01", [(199, 201)]), ("e0006219", [(6219, None)]), ("S12-S15", [(12, 15)]),
    ("ii34-ii40", [(34, 40)]), ("pp. 83-87", [(83, 87)]), ("Suppl 2:S45", [(45, None)]),
    ("233-8, 230-5", [(233, 238), (230, 235)]), ("2243-5; author reply 2243-5", [(2243, 2245)]),
    ("13-May", []), ("12 pp.", []), ("", []), ("87-83", [(87, None)]),
])
def test_page_ranges(pages, expected):
    assert [(r.start, r.end) for r in page_ranges(pages)] == expected


def test_roman_pages_are_not_arabic_pages():
    (front,) = page_ranges("xii-xv")
    assert (front.start, front.end, front.roman) == (12, 15, True)
    assert not pages_compatible(page_ranges("xii-xv"), page_ranges("12-15"))
    assert pages_compatible(page_ranges("083-087"), page_ranges("83-7"))


def test_parallel_journal_titles_and_contractions():
    assert journals_compatible(journal_key("Ai zheng = Aizheng = Chinese journal of cancer"),
                               journal_key("Chinese Journal of Cancer"))
    assert journals_compatible(journal_key("Dtsch-Med-Wochenschr"),
                               journal_key("Deutsche Medizinische Wochenschrift"))
    assert not journals_compatible(journal_key("Chinese Journal of Cancer"),
                                   journal_key("Aizheng"))


def test_a_page_field_of_thousands_of_digits_is_no_page():
    """Found by tests/fuzz: Python refuses int() of more than 4300 digits (a damaged export)."""
    from metasr.records.normalise import page_ranges

    assert page_ranges("9" * 5000 + "-12") == ()
    assert page_ranges("12-" + "9" * 5000)[0].start == 12


@pytest.mark.parametrize("x, y", [
    ("haemorrhage", "hemorrhage"), ("oesophageal", "esophageal"), ("tumour", "tumor"),
    ("randomised", "randomized"), ("centre", "center"), ("sulphate", "sulfate"),
    ("alfa", "alpha"), ("lesions", "lesion"), ("sclerosos", "sclerosis"),
    ("programme", "program"), ("paediatric", "pediatric"), ("haemorrhagic", "hemorrhagic"),
])
def test_spelling_variants_of_one_word(x, y):
    assert word_variants(x, y) and word_variants(y, x)


@pytest.mark.parametrize("x, y", [
    ("men", "women"), ("with", "without"), ("increases", "decreases"), ("beta", "gamma"),
    ("hypertension", "hypotension"), ("microvascular", "macrovascular"),
    ("interobserver", "intraobserver"), ("symptomatic", "asymptomatic"), ("male", "female"),
    ("abduction", "adduction"), ("il6", "il8"), ("dependent", "independent"),
])
def test_different_words_are_not_variants(x, y):
    assert not word_variants(x, y) and not word_variants(y, x)


def test_title_words_agree_only_on_differences_of_form():
    assert title_words_agree(title_key("A meta-analysis of follow-up data: the tumour"),
                             title_key("Metaanalysis of followup data - tumor"))
    assert title_words_agree("rim lesions and disability", "disability and rim lesions")
    assert not title_words_agree("rim lesions in men", "rim lesions in women")
    assert not title_words_agree("rim lesions", "rim lesions not")
    assert not title_words_agree("a review", "protocol for a review")


@pytest.mark.parametrize("title", [
    "Erratum: Iron rims", "Correction: Iron rims", "Correction to: Iron rims", "Corrections",
    "Author Correction: Iron rims", 'Retraction notice to "Iron rims"', "Retraction: Iron rims",
    "Notice of retraction: Iron rims", "Response to: Iron rims", 'Response to "Iron rims"',
    "Response to the letter by Smith", "In reply", "Reply to Smith", "RETRACTED: Iron rims",
    "[Correction: Iron rims]", "Expression of concern: Iron rims", "Comment on: Iron rims",
])
def test_notice_titles(title):
    assert is_notice(title)


@pytest.mark.parametrize("title", [
    "Correction of hyponatremia in intensive care", "Response to rituximab in multiple sclerosis",
    "Retraction of the upper eyelid after surgery", "Retracted articles in neurology",
    "Withdrawn from treatment: a cohort", "[Correction of scoliosis in adolescents]",
    "Responses of rim lesions to treatment",
])
def test_ordinary_articles_whose_title_starts_like_a_notice(title):
    assert not is_notice(title) and not is_notice(title.lower())


def test_retraction_marks_are_not_part_of_the_title_key():
    plain = title_key("Iron rims")
    assert title_key("RETRACTED: Iron rims") == plain == title_key("Retracted article: Iron rims")
    assert title_key("Iron rims (Retracted article. See vol. 45, 2022)") == plain
    assert title_key("Retraction: Iron rims") != plain
