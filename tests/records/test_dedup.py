"""De-duplication rules on synthetic records (each test says what trap it builds)."""

import pytest
from hypothesis import given, settings, strategies as st

from metasr.errors import InputError
from metasr.records.dedup import candidate_pairs, cluster_records, read_overrides
from metasr.records.normalise import record_keys

BASE = {  # synthetic record, modelled on a real MS-imaging article
    "title": "Association of chronic active multiple sclerosis lesions with disability in vivo",
    "authors": "Absinta, Martina; Sati, Pascal", "year": "2019", "journal": "JAMA Neurology",
    "volume": "76", "issue": "12", "pages": "1474-1483", "doi": "", "pmid": "",
    "abstract": "", "publication_type": "", "database": "",
}


def rows(*changes):
    return [{**BASE, "record_id": f"s:{i}", **change} for i, change in enumerate(changes)]


def clusters(records, same=(), distinct=frozenset()):
    return cluster_records(records, list(same), set(distinct))


def test_reformatted_record_is_linked():
    result = clusters(rows({}, {"title": BASE["title"].upper() + ".", "authors": "Absinta M; Sati P",
                                "journal": "JAMA Neurol", "pages": "1474-83"}))
    assert result.cluster_of == [0, 0]
    assert result.links[0].rule == "title"
    assert "journal" in result.links[0].fields


def test_doi_links_despite_volume_and_page_noise():
    result = clusters(rows({"doi": "10.1000/x", "volume": "212"}, {"doi": "10.1000/x", "pages": "18"}))
    assert result.cluster_of == [0, 0] and result.links[0].rule == "doi"


@pytest.mark.parametrize("change, reason", [
    ({"title": "Erratum: " + BASE["title"], "pages": ""}, "erratum"),
    ({"publication_type": "Conference Abstract", "journal": "Mult Scler", "pages": ""},
     "conference abstract"),
    ({"publication_type": "Trial registry record", "journal": "ClinicalTrials.gov", "pages": "",
      "volume": ""}, "trial registration"),
    ({"year": "2022"}, "years apart"),
    ({"year": "2018", "volume": "", "pages": ""}, "undated meeting abstract the year before"),
    ({"pages": "1500-1510"}, "different pages"),
    ({"doi": "10.1000/other", "pages": ""}, "different DOI, pages unknown"),
    ({"doi": "10.1000/other", "authors": "Absinta, Martina; Reich, Daniel"},
     "different DOI, other second author"),
    ({"doi": "10.1000/x.pub2"}, "a new version of the DOI"),
    ({"authors": "Reich, Daniel"}, "different first author"),
    ({"journal": "Brain", "volume": "", "pages": ""}, "different journal"),
])
def test_distinct_works_are_not_linked(change, reason):
    records = rows({"doi": "10.1000/x" if "doi" in change else ""}, change)
    assert clusters(records).cluster_of == [0, 1], reason


def test_erratum_carrying_the_article_doi_stays_apart():
    records = rows({"doi": "10.1000/x"}, {"doi": "10.1000/x", "title": "Erratum: " + BASE["title"]})
    assert clusters(records).cluster_of == [0, 1]


def test_database_labels_do_not_split_a_shared_doi():
    # PubMed calls it "Published Erratum", Scopus a journal item: same DOI, same record.
    records = rows({"doi": "10.1000/e", "title": "Errors in table and supplemental figure",
                    "publication_type": "Published Erratum"},
                   {"doi": "10.1000/e", "title": "Errors in Table and Supplemental Figure",
                    "publication_type": "JOUR"})
    assert clusters(records).cluster_of == [0, 0]


def test_authorless_notice_with_the_article_title_stays_apart():
    # A correction notice listed under the article's own title, without authors or pages.
    records = rows({}, {"authors": "", "pages": "", "volume": ""})
    assert clusters(records).cluster_of == [0, 1]
    # Two authorless copies of one record (same title and journal) are the same record.
    records = rows({"authors": "", "pages": "", "volume": ""},
                   {"authors": "", "pages": "", "volume": "", "journal": "JAMA Neurol"})
    assert clusters(records).cluster_of == [0, 0]


def test_supplement_doi_shared_by_different_abstracts():
    records = rows({"title": "Quality of life in primary ciliary dyskinesia", "doi": "10.1000/supp",
                    "publication_type": "Conference Abstract"},
                   {"title": "Development of a bioinformatics analysis method", "doi": "10.1000/supp",
                    "publication_type": "Conference Abstract"})
    assert clusters(records).cluster_of == [0, 1]


def test_short_session_titles_need_a_page():
    records = rows({"title": "Coronary artery disease", "pages": "", "volume": ""},
                   {"title": "Coronary artery disease", "pages": "", "volume": ""})
    assert clusters(records).cluster_of == [0, 1]
    records = rows({"title": "Coronary artery disease"}, {"title": "Coronary artery disease"})
    assert clusters(records).cluster_of == [0, 0]


def test_numbers_in_titles_keep_follow_ups_apart():
    records = rows({"title": "Rim lesions and disability: 2 year results", "pages": ""},
                   {"title": "Rim lesions and disability: 5 year results", "pages": ""})
    assert clusters(records).cluster_of == [0, 1]


def test_a_chain_cannot_join_conflicting_records():
    # s:0 and s:2 carry different DOIs and s:2 no pages; s:1 (no DOI) matches both by title.
    records = rows({"doi": "10.1000/a"}, {}, {"doi": "10.1000/b", "pages": ""})
    result = clusters(records)
    assert result.cluster_of[0] != result.cluster_of[2]


def test_overrides(tmp_path):
    records = rows({"pmid": "111"}, {"title": "A completely different heading of the same paper",
                                     "pmid": ""}, {"doi": "10.1000/c"})
    path = tmp_path / "overrides.csv"
    path.write_text("record_a,record_b,decision,note\npmid:111,s:1,same,translated title\n"
                    "s:0,10.1000/C,distinct,reviewer checked\n")
    same, distinct = read_overrides(path, records)
    result = clusters(records, same, distinct)
    assert result.cluster_of == [0, 0, 1]
    assert [(link.rule, link.override) for link in result.links][0] == ("override", "same")
    assert any(link.override == "distinct" for link in result.links)


@pytest.mark.parametrize("body, message", [
    ("s:0,s:9,same\n", "matches no record"),
    ("s:0,s:1,maybe\n", "'same' or 'distinct'"),
    ("s:0,s:1,same\ns:1,s:0,distinct\n", "both same and distinct"),
])
def test_bad_overrides(tmp_path, body, message):
    path = tmp_path / "overrides.csv"
    path.write_text("record_a,record_b,decision\n" + body)
    with pytest.raises(InputError, match=message):
        read_overrides(path, rows({}, {}))


def test_transitive_override_contradiction(tmp_path):
    records = rows({"title": "First distinct work about rims"}, {"title": "Second one, other"},
                   {"title": "Third paper on something else"})
    path = tmp_path / "overrides.csv"
    path.write_text("record_a,record_b,decision\ns:0,s:1,same\ns:1,s:2,same\ns:0,s:2,distinct\n")
    same, distinct = read_overrides(path, records)
    with pytest.raises(InputError, match="'distinct' overrides keep"):
        clusters(records, same, distinct)


def test_absent_or_empty_overrides(tmp_path):
    assert read_overrides(tmp_path / "none.csv", rows({})) == ([], set())
    empty = tmp_path / "empty.csv"
    empty.write_text("record_a,record_b,decision\n")
    assert read_overrides(empty, rows({})) == ([], set())


def test_blocking_stays_near_linear():
    # 3,000 synthetic records sharing one journal and year: a full comparison would be 4.5 M
    # pairs; blocks must keep it to a small multiple of n.
    records = [{**BASE, "title": f"study {i} of lesion type {i * 7919 % 1000}",
                "authors": f"Author{i % 50}, A", "pages": str(i)} for i in range(3000)]
    keys = [record_keys(i, r) for i, r in enumerate(records)]
    assert len(candidate_pairs(keys)) < 60 * len(records)


# Synthetic field pools: small, so random records collide often and the rules get exercised.
_TITLES = ["Iron rim lesions and disability in multiple sclerosis",
           "Iron rim lesions and disability in multiple sclerosis: 5 year results",
           "IRON RIM LESIONS AND DISABILITY IN MULTIPLE SCLEROSIS.",
           "Erratum: Iron rim lesions and disability in multiple sclerosis",
           "Paramagnetic rim lesions predict progression", ""]
_RECORD = st.fixed_dictionaries({
    "title": st.sampled_from(_TITLES),
    "authors": st.sampled_from(["Absinta, M; Sati, P", "Absinta M", "Reich DS", ""]),
    "year": st.sampled_from(["2019", "2020", "2022", ""]),
    "journal": st.sampled_from(["JAMA Neurology", "JAMA Neurol", "Brain", ""]),
    "volume": st.sampled_from(["76", "77", ""]),
    "pages": st.sampled_from(["1474-83", "1500", ""]),
    "doi": st.sampled_from(["10.1000/a", "10.1000/b", ""]),
    "pmid": st.sampled_from(["111", "222", ""]),
    "publication_type": st.sampled_from(["", "Conference Abstract", "Published Erratum"]),
})


def _aliases(result, keys):
    """Identifier pairs that identifier_conflict links declared one work, as a union-find."""
    parent = {}

    def root(node):
        while parent.get(node, node) != node:
            node = parent[node]
        return node

    for link in result.links:
        if link.rule == "identifier_conflict":
            for kind in ("doi", "pmid"):
                x, y = getattr(keys[link.a], kind), getattr(keys[link.b], kind)
                if x and y:
                    parent[root((kind, y))] = root((kind, x))
    return root


@settings(max_examples=150, deadline=None)
@given(st.lists(_RECORD, min_size=1, max_size=12))
def test_no_cluster_holds_an_identity_conflict(records):
    """Within a cluster: one DOI and one PMID (up to identifier_conflict links, which the audit
    explains), never a notice with a non-notice, never two kinds of record."""
    records = [{**BASE, **r, "record_id": f"s:{i}"} for i, r in enumerate(records)]
    result = clusters(records)
    assert len(result.cluster_of) == len(records)
    keys = [record_keys(i, r) for i, r in enumerate(records)]
    root = _aliases(result, keys)
    members = {}
    for i, cluster in enumerate(result.cluster_of):
        members.setdefault(cluster, []).append(i)
    for group in members.values():
        for kind in ("doi", "pmid"):
            assert len({root((kind, getattr(keys[i], kind))) for i in group
                        if getattr(keys[i], kind)}) <= 1
        assert len({keys[i].notice_title for i in group}) == 1
        assert len({keys[i].kind for i in group} - {""}) <= 1
    # Each removed record is explained by exactly one audit link.
    assert len(result.links) == len(records) - len(members)


def test_a_real_leading_word_is_not_an_acronym_so_different_journals_stay_apart():
    """Regression (found by the review simulator, SYNTHETIC records): 'Current Sleep Medicine' and
    'Sleep Medicine Reports' were taken for one journal, and the citation rule then merged two
    different works by one first author with the same year, volume and first page."""
    from metasr.records.dedup import compare
    from metasr.records.normalise import journal_key, journals_compatible, record_keys

    a = dict(title="Adherence after low-intensity iron supplementation in bipolar disorder: a pilot "
                   "randomised trial in healthcare workers", authors="Walters, S.", year="2017",
             journal="Current Sleep Medicine", volume="37", pages="11-24", doi="10.5555/sim.2017.003042",
             pmid="", publication_type="Article", database="Scopus")
    b = dict(title="Effect of low-intensity iron supplementation on stress and return to work in older "
                   "adults with asthma", authors="Walters, Justin A; Little, Justin", year="2017",
             journal="Sleep Medicine Reports", volume="37", pages="11-9", doi="", pmid="900008928",
             publication_type="Journal Article", database="PubMed")
    assert compare(record_keys(0, a), record_keys(1, b)) is None
    assert not journals_compatible(journal_key("Current Sleep Medicine"), journal_key("Sleep Medicine Reports"))
    for short, full in [("JPEN J Parenter Enteral Nutr", "Journal of parenteral and enteral nutrition"),
                        ("AJNR Am J Neuroradiol", "American Journal of Neuroradiology")]:
        assert journals_compatible(journal_key(short), journal_key(full)), short


def test_different_dois_with_everything_else_equal_are_one_work():
    # A journal whose DOI prefix changed: the same article indexed under both DOIs.
    records = rows({"doi": "10.1097/00005373-201901000-00012"},
                   {"doi": "10.1213/ta.0000000000000012", "pages": "1474-83",
                    "authors": "Absinta M; Sati P", "journal": "JAMA Neurol"})
    result = clusters(records)
    assert result.cluster_of == [0, 0]
    (link,) = result.links
    assert link.rule == "identifier_conflict"
    assert "conflict=doi:10.1097/00005373-201901000-00012|10.1213/ta.0000000000000012" in link.fields


@pytest.mark.parametrize("change, reason", [
    ({"publication_type": "Published Erratum"}, "erratum with the article's title"),
    ({"publication_type": "Conference Abstract"}, "abstract"),
    ({"title": "Erratum: " + BASE["title"]}, "notice"),
    ({"title": BASE["title"] + ": part 2"}, "other title"),
    ({"year": "2020"}, "other year"),
    ({"volume": ""}, "volume unknown"),
    ({"pages": "1474-1490"}, "other end page"),
])
def test_different_dois_stay_apart_without_full_agreement(change, reason):
    records = rows({"doi": "10.1000/a"}, {"doi": "10.2000/b", **change})
    assert clusters(records).cluster_of == [0, 1], reason


def test_different_pmids_with_everything_else_equal_are_one_work():
    records = rows({"pmid": "31403674"}, {"pmid": "31403675"})
    result = clusters(records)
    assert result.cluster_of == [0, 0] and result.links[0].rule == "identifier_conflict"
    assert "conflict=pmid:31403674|31403675" in result.links[0].fields


def test_identifier_conflict_link_lets_copies_of_either_doi_join():
    records = rows({"doi": "10.1000/a"}, {"doi": "10.2000/b"},
                   {"doi": "10.2000/b", "title": BASE["title"].upper(), "pages": "", "volume": ""})
    assert clusters(records).cluster_of == [0, 0, 0]


def test_page_formats_are_compared_as_ranges():
    # Zero-padded against abbreviated ranges, one record carrying a DOI and the other none.
    records = rows({"pages": "083-087", "doi": "10.1000/a"}, {"pages": "83-7"})
    assert clusters(records).cluster_of == [0, 0]
    # Databases disagreeing by two pages on where the article starts.
    assert clusters(rows({"pages": "678-684"}, {"pages": "676-682"})).cluster_of == [0, 0]
    # Neighbouring articles share at most their boundary page.
    assert clusters(rows({"pages": "678-684"}, {"pages": "684-688"})).cluster_of == [0, 1]


def test_one_article_under_two_paginations():
    records = rows({"pages": "1324-1327", "authors": "Zhao, Wei-Zhu; Wang, Ji-Kun; Li, Wei",
                    "journal": "Ai zheng = Aizheng = Chinese journal of cancer"},
                   {"pages": "84-87", "authors": "Zhao, W. Z.; Wang, J. K.; Li, W.",
                    "journal": "Chinese Journal of Cancer"})
    result = clusters(records)
    assert result.cluster_of == [0, 0] and result.links[0].rule == "pagination_variant"


@pytest.mark.parametrize("change, reason", [
    ({"pages": "84"}, "a single page (abstract, erratum)"),
    ({"pages": "S84-S93"}, "supplement pages"),
    ({"pages": "84-90"}, "another page count"),
    ({"pages": "84-93", "authors": "Absinta, Martina"}, "one author only"),
    ({"pages": "84-93", "publication_type": "Published Erratum"}, "erratum"),
    ({"pages": "84-93", "title": BASE["title"] + " (reply)"}, "another title"),
])
def test_paginations_that_are_not_the_same_article(change, reason):
    # BASE has pages 1474-1483 (ten pages), as has '84-93'.
    assert clusters(rows({}, change)).cluster_of == [0, 1], reason


def test_online_first_record_a_year_before_its_print_record():
    records = rows({}, {"year": "2018", "volume": "", "pages": "1-10", "doi": ""})
    result = clusters(records)
    assert result.cluster_of == [0, 0] and result.links[0].rule == "ahead_of_print"
    records = rows({}, {"year": "2018", "volume": "", "pages": "", "doi": "10.1000/early"})
    assert clusters(records).cluster_of == [0, 0]


def test_same_page_range_with_differently_translated_titles():
    records = rows({"title": "[Postoperative immunostimulation in non-small-cell bronchial "
                             "carcinoma. Outcome and complications of intrapleural BCG (Bacille "
                             "Calmette-Guerin) administration]",
                    "authors": "Toomes, H.", "journal": "Deutsche Medizinische Wochenschrift",
                    "pages": "935-940"},
                   {"title": "Postoperative local immunostimulation in non-oatcell bronchial "
                             "carcinoma", "authors": "", "journal": "Dtsch-Med-Wochenschr",
                    "pages": "935-40"})
    result = clusters(records)
    assert result.cluster_of == [0, 0] and result.links[0].rule == "citation_range"
    # Two letters printed under one heading on the same pages, by different authors.
    letters = rows({"title": "A trial of intrapleural streptokinase", "authors": "Rosa, Ute W.",
                    "pages": "2243-5; author reply 2243-5"},
                   {"title": "A trial of intrapleural streptokinase",
                    "authors": "Bouros, Demosthenes", "pages": "2243-5; author reply 2243-5"})
    assert clusters(letters).cluster_of == [0, 1]


def test_a_record_without_volume_cannot_bridge_two_volumes():
    records = rows({"volume": "76", "pages": ""}, {"volume": "", "pages": ""},
                   {"volume": "77", "pages": ""})
    result = clusters(records)
    assert result.cluster_of[0] != result.cluster_of[2]


def test_copies_joined_by_doi_take_in_a_copy_that_agrees_with_one_of_them():
    # Print and online volumes under one DOI; a DOI-less copy gives the print volume.
    records = rows({"doi": "10.1000/x", "volume": "76"},
                   {"doi": "10.1000/x", "volume": "212", "pages": "e12"},
                   {"volume": "76", "journal": "JAMA Neurol"})
    assert clusters(records).cluster_of == [0, 0, 0]


def test_progress_is_reported_per_stage():
    calls = []
    cluster_records(rows({}, {}), progress=lambda step, done, total: calls.append(
        (step, done, total)))
    assert calls[0] == ("keys", 2, 2)
    assert ("title", 1, 1) in calls
    assert all(done == total for _, done, total in calls)


COMPANION = {"authors": "Rossi, M.; Bianchi, L.; Costa, P.", "journal": "Frontiers in Neurology",
             "year": "2023", "volume": "", "issue": "", "pages": "", "doi": ""}


@pytest.mark.parametrize("first, second", [
    ("Paramagnetic rim lesions and disability in men with relapsing multiple sclerosis",
     "Paramagnetic rim lesions and disability in women with relapsing multiple sclerosis"),
    ("Iron rim lesion count increases with age in progressive multiple sclerosis",
     "Iron rim lesion count decreases with age in progressive multiple sclerosis"),
    ("Interferon-beta and paramagnetic rim lesion evolution in multiple sclerosis",
     "Interferon-gamma and paramagnetic rim lesion evolution in multiple sclerosis"),
    ("Cognitive outcome in patients with paramagnetic rim lesions in multiple sclerosis",
     "Cognitive outcome in patients without paramagnetic rim lesions in multiple sclerosis"),
])
def test_companion_papers_differing_by_one_word_stay_apart(first, second):
    # No volume, pages or DOI: the near-identical title is the only evidence, and one word
    # makes it another study (the fuzzy ratio of the first pair is 98.8).
    records = rows({**COMPANION, "title": first}, {**COMPANION, "title": second})
    assert clusters(records).cluster_of == [0, 1]


@pytest.mark.parametrize("second", [
    "Paramagnetic rim lesions and disability in relapsing multiple sclerosis: a randomised trial",
    "Paramagnetic rim lesions and disability in relapsing multiple sclerosis - a randomized trail",
    "Paramagnetic rim-lesions and disability in the relapsing multiple sclerosis. A randomized "
    "trial",
])
def test_titles_differing_in_form_only_still_link_without_volume_or_pages(second):
    first = "Paramagnetic rim lesions and disability in relapsing multiple sclerosis: a " \
        "randomized trial"
    records = rows({**COMPANION, "title": first}, {**COMPANION, "title": second})
    result = clusters(records)
    assert result.cluster_of == [0, 0]
    assert result.links[0].rule in ("title", "fuzzy_title")


@pytest.mark.parametrize("marked", [
    "RETRACTED: " + BASE["title"], "Retracted article: " + BASE["title"],
    BASE["title"] + " (Retracted article. See vol. 45, 2022)", "WITHDRAWN: " + BASE["title"],
])
def test_the_retracted_article_itself_joins_its_plain_copy(marked):
    # Elsevier and WoS title the retracted article itself 'RETRACTED: <title>'.
    records = rows({"doi": "10.1000/x"}, {"doi": "10.1000/x", "title": marked, "pages": "",
                                          "publication_type": "Retracted Publication"})
    assert clusters(records).cluster_of == [0, 0]


@pytest.mark.parametrize("notice", [
    'Retraction notice to "' + BASE["title"] + '"', "Retraction: " + BASE["title"],
    "Notice of retraction: " + BASE["title"], "Correction to: " + BASE["title"],
])
def test_a_retraction_or_correction_notice_stays_apart_even_with_the_doi(notice):
    records = rows({"doi": "10.1000/x"}, {"doi": "10.1000/x", "title": notice})
    assert clusters(records).cluster_of == [0, 1]


def test_a_marked_title_without_a_shared_identifier_stays_a_notice():
    # Hindawi titles its retraction notices 'Retracted: <title>' (under their own DOI).
    records = rows({"doi": "10.1000/x"}, {"doi": "", "title": "Retracted: " + BASE["title"],
                                          "authors": "", "pages": ""})
    assert clusters(records).cluster_of == [0, 1]


def test_a_blocked_pair_is_in_the_audit_once(tmp_path):
    # The pair shares a DOI, title, head, tail, author+page and volume+page: six stages
    # propose it, and each proposal was logged as another blocked link.
    records = rows({"doi": "10.1000/x"}, {"doi": "10.1000/x"})
    path = tmp_path / "overrides.csv"
    path.write_text("record_a,record_b,decision\ns:0,s:1,distinct\n")
    result = clusters(records, *read_overrides(path, records))
    assert result.cluster_of == [0, 1]
    assert [(link.a, link.b, link.override) for link in result.links] == [(0, 1, "distinct")]


def test_override_problems_name_the_file_row_and_what_is_wrong(tmp_path):
    path = tmp_path / "overrides.csv"
    path.write_text("record_a,record_b,decision\ns:0,s:1,same\n,s:1,distinct\ns:1,s:0,distinct\n")
    with pytest.raises(InputError) as err:
        read_overrides(path, rows({}, {}))
    empty, contradiction = err.value.problems
    assert (empty.message, empty.row, empty.column) == ("record_a is empty", 3, "record_a")
    assert (contradiction.file, contradiction.row) == (str(path), 4)
    assert "same on row 2, distinct on row 4" in contradiction.message
