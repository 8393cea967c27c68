import pytest

from patron.identity.names import clean_first_name, first_names_agree, first_names_disagree


def agree(a: str, b: str) -> bool:
    cleaned_a, cleaned_b = clean_first_name(a), clean_first_name(b)
    assert cleaned_a is not None
    assert cleaned_b is not None
    return first_names_agree(cleaned_a, cleaned_b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Anna", "ANNA ", id="case and spaces"),
        pytest.param("Zoë", "Zoe", id="accents"),
        pytest.param("Bill", "William", id="nickname"),
        pytest.param("Peggy", "Margaret", id="nickname far from the name"),
        pytest.param("Bill", "Will", id="two short forms of one name"),
        pytest.param("J", "John", id="initial"),
        pytest.param("Jon", "John", id="a letter dropped"),
        pytest.param("Sarah", "Sarha", id="two letters swapped"),
        pytest.param("Grace", "Grsce", id="a neighbouring key"),
    ],
)
def test_one_persons_first_names_agree(a: str, b: str) -> None:
    assert agree(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Anna", "Robert", id="different names"),
        pytest.param("Dan", "Jan", id="short names one letter apart"),
        pytest.param("Albert", "Alexander", id="names sharing only a nickname's letters"),
    ],
)
def test_different_peoples_first_names_disagree(a: str, b: str) -> None:
    assert not agree(a, b)


def test_customers_disagree_only_when_both_have_names_and_none_agree() -> None:
    assert first_names_disagree({"anna"}, {"robert"})
    assert not first_names_disagree({"anna", "bob"}, {"robert"})
    assert not first_names_disagree(set(), {"robert"})
    assert not first_names_disagree({"anna"}, set())


def test_a_first_name_without_letters_is_no_name() -> None:
    assert clean_first_name("--") is None
    assert clean_first_name(None) is None
