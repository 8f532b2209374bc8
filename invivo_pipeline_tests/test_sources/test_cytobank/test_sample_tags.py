from __future__ import annotations

import pytest

from invivo_pipeline.sources.cytobank.sample_tags import SampleTagFormatError, parse_sample_tags


def test_rows_become_one_record_per_file_and_dimension_with_dash_as_null() -> None:
    tsv = b"FCS Filename\tIndividuals\tSample ID\nA_Blood_D7.fcs\tONC-1\tS1\nComp.fcs\t-\t-\n"
    assert parse_sample_tags(tsv) == [
        {"fcsFilename": "A_Blood_D7.fcs", "dimension": "Individuals", "value": "ONC-1"},
        {"fcsFilename": "A_Blood_D7.fcs", "dimension": "Sample ID", "value": "S1"},
        {"fcsFilename": "Comp.fcs", "dimension": "Individuals", "value": None},
        {"fcsFilename": "Comp.fcs", "dimension": "Sample ID", "value": None},
    ]


def test_a_file_that_is_not_a_sample_tag_table_is_refused() -> None:
    with pytest.raises(SampleTagFormatError, match="first column"):
        parse_sample_tags(b"name\tvalue\nx\t1\n")
    with pytest.raises(SampleTagFormatError, match="line 2 has 1 cells"):
        parse_sample_tags(b"FCS Filename\tIndividuals\nonly-one\n")
