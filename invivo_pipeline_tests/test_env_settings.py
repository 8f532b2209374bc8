"""One rule for counts read from the environment: unset or empty means the default, a whole
number of at least 1 is taken, anything else is an error naming the variable and its value."""

from __future__ import annotations

import pytest

from invivo_pipeline.env_settings import positive_int


class SettingError(Exception):
    pass


def test_unset_or_empty_is_the_default_and_a_count_is_taken():
    assert positive_int({}, "N", 7) == 7
    assert positive_int({"N": ""}, "N", 7) == 7
    assert positive_int({"N": "3"}, "N", 7) == 3
    assert positive_int({"N": " 12\n"}, "N", 7) == 12


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", "1e3", "²"])
def test_anything_else_is_the_caller_s_error_naming_variable_and_value(bad):
    with pytest.raises(SettingError) as caught:
        positive_int({"N": bad}, "N", 7, SettingError)
    assert str(caught.value) == f"N={bad!r} is not a whole number of at least 1"
