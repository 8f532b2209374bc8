{#-
  Per-study tables rebuilt only for the studies whose raw records changed (issue 19).

  Every model with a study_id column is materialized study_partitioned (dbt_project.yml): a study's
  rows of it depend on that study's raw records and on the tenant-wide tables only. The pipeline
  (invivo_pipeline/marts/scope.py) writes the studies to rebuild into
  invivo_raw._marts_scope before it runs dbt build, and drops the table afterwards:

  - no scope table, or --full-refresh: the model is built in full, exactly as a table;
  - a scope table: the model's rows of those studies are deleted and inserted anew in one
    transaction; the model's SQL is filtered to those studies (a list of constants, which DuckDB
    can push down through joins and groupings on study_id), and a Python model filters its
    inputs itself (invivo_pipeline.marts.scope.scoped).

  A dbt build run by hand, without the pipeline, therefore always builds in full.
-#}

{% macro marts_scope_relation() -%}
    {{ return(adapter.get_relation(database=target.database, schema='invivo_raw', identifier='_marts_scope')) }}
{%- endmacro %}


{#- The study ids to rebuild, or none to build in full. -#}
{% macro study_scope() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set scope = marts_scope_relation() -%}
    {%- if scope is none -%}{{ return(none) }}{%- endif -%}
    {%- if should_full_refresh() -%}
        {%- if model['language'] == 'python' -%}
            {{ exceptions.raise_compiler_error(
                "--full-refresh while " ~ scope ~ " exists: a Python model would read only its "
                ~ "studies; drop that table (the pipeline drops it after every build) and retry") }}
        {%- endif -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set rows = run_query('select study_id from ' ~ scope ~ ' order by study_id') -%}
    {{ return(rows.columns[0].values() | list) }}
{%- endmacro %}


{#- study_id IN (...) for these studies; FALSE for none. -#}
{% macro study_filter(studies) -%}
    {%- if studies | length == 0 -%}false{%- else -%}study_id in {{ sql_list(studies) }}{%- endif -%}
{%- endmacro %}


{#- One build path for SQL and Python models alike (dbt runs a Python model only from a
    materialization's own 'main' statement, so this cannot hand a full build to the table
    materialization): the model is built into <name>__dbt_tmp, then either swapped in whole, as
    the table materialization does, or its studies' rows replace theirs in the existing table. -#}
{% materialization study_partitioned, adapter='duckdb', supported_languages=['sql', 'python'] %}
    {%- set studies = study_scope() -%}
    {%- set language = model['language'] -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- if studies is not none and (existing_relation is none or not existing_relation.is_table) -%}
        {{ exceptions.raise_compiler_error(
            target_relation ~ " is not a table yet: build in full (invivo sync --full-refresh, "
            ~ "or dbt build --full-refresh)") }}
    {%- endif -%}
    {%- set staged_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation = make_backup_relation(
        target_relation, 'table' if existing_relation is none else existing_relation.type) -%}
    {{ drop_relation_if_exists(load_cached_relation(staged_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}
    {%- set code = compiled_code if language == 'python' or studies is none
        else 'select * from (\n' ~ compiled_code ~ '\n) as scoped where ' ~ study_filter(studies) -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- if language == 'python' -%}
        {#- A Python model's table is written through another cursor. A transaction this
            connection opened earlier (to list a schema dbt had not cached, as when the model is
            selected alone) would not see that table, and the swap below would fail. -#}
        {% call statement('end_earlier_snapshot') -%} select 1 {%- endcall %}
        {{ adapter.commit() }}
    {%- endif %}
    {% call statement('main', language=language) -%}
        {{- create_table_as(False, staged_relation, code, language) }}
    {%- endcall %}

    {% if studies is none %}
        {% if existing_relation is not none %}
            {{ adapter.rename_relation(existing_relation, backup_relation) }}
        {% endif %}
        {{ adapter.rename_relation(staged_relation, target_relation) }}
    {% else %}
        {% call statement('replace_studies') -%}
            delete from {{ target_relation }} where {{ study_filter(studies) }};
            insert into {{ target_relation }} by name
                select * from {{ staged_relation }} where {{ study_filter(studies) }};
            drop table {{ staged_relation }};
        {%- endcall %}
    {% endif %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ drop_relation_if_exists(backup_relation) }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- A generic test (not_null, unique, relationships, ...) of a study_partitioned model reads only
    the studies the build rebuilt: the other studies' rows were tested when they were built and
    have not changed since. The data-quality tests (tests/*.sql) still read every study, since
    their failing rows are the tenant's findings. -#}
{% macro duckdb__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do conditions.append(where) -%}{%- endif -%}
    {%- set studies = study_scope() if is_study_partitioned(relation) else none -%}
    {%- if studies is not none -%}{%- do conditions.append(study_filter(studies)) -%}{%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ (conditions | join(' and ')) ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}


{% macro is_study_partitioned(relation) -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.config.materialized == 'study_partitioned'
            and node.schema == relation.schema and (node.alias or node.name) == relation.identifier -%}
            {{ return(true) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{%- endmacro %}


{#- A study_partitioned SQL model reads only the scope's studies of every study_partitioned model
    it refs, while a scope is set. The filter around the model's whole SQL (above) is not pushed
    down through window functions, so without this a model such as rpt_group_day_summary still
    computed every study of the tenant to keep one. A study's rows of such a model depend only on
    that study's rows of its per-study inputs (the premise of the materialization), so the result
    is the same; tests/test_incremental_build.py compares it with a full build row for row.
    Tests, tenant-wide models and Python models (which filter with scoped()) are not affected. -#}
{% macro ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- if execute and model is mapping and model.get('language', 'sql') == 'sql'
        and config.get('materialized') == 'study_partitioned'
        and is_study_partitioned(relation) -%}
        {%- set studies = study_scope() -%}
        {%- if studies is not none -%}
            {%- do return('(select * from ' ~ relation ~ ' where ' ~ study_filter(studies) ~ ')') -%}
        {%- endif -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
