"""The metadata a citable release is archived with: CITATION.cff and .zenodo.json, each valid against its
published schema (tests/support/schemas/, with sources), agreeing with each other, and naming the paper
and the data as the package's facts do. That both carry pyproject.toml's version is tests/project/test_version.py."""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import jsonschema
import pytest
from support.citation_files import read_cff

from twigma import paths
from twigma.release import facts

ROOT = paths.ROOT
SCHEMAS = Path(__file__).resolve().parents[1] / "support" / "schemas"
CFF_SCHEMA = SCHEMAS / "cff-1.2.0.json"
ZENODO_SCHEMA = SCHEMAS / "zenodo-legacyrecord.json"
#: the arXiv identifier of the paper, from the package's link to it
ARXIV_ID = "arXiv:" + facts.ARXIV_URL.rsplit("/", 1)[1]
#: cffconvert as `make test` provides it (its own small environment: cffconvert 2.0.0 needs jsonschema < 4)
CFFCONVERT_ENV = "TWIGMA_CFFCONVERT"
CFFCONVERT_DEFAULT = ".venv-cff/bin/cffconvert"


def repository_url() -> str | None:
    """The compendium's public repository: ``Repository`` under ``[project.urls]`` in pyproject.toml."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return pyproject["project"].get("urls", {}).get("Repository")


@pytest.fixture(scope="module")
def cff() -> dict:
    return read_cff(ROOT / "CITATION.cff")


@pytest.fixture(scope="module")
def zenodo() -> dict:
    return json.loads((ROOT / ".zenodo.json").read_text(encoding="utf-8"))


def _validator(schema: dict) -> jsonschema.protocols.Validator:
    """The validator of the draft the schema declares, checking formats (dates) as cffconvert's
    ``jsonschema.validate(..., format_checker=jsonschema.FormatChecker())`` does."""
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=jsonschema.FormatChecker())


def _errors(schema: dict, instance: dict) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
            for e in _validator(schema).iter_errors(instance)]


def cff_schema() -> dict:
    return json.loads(CFF_SCHEMA.read_text(encoding="utf-8"))


def zenodo_schema() -> dict:
    """Zenodo's legacy deposit schema with ``version``, which Zenodo's deposit metadata documents and its
    .zenodo.json loader reads but the schema leaves out (tests/support/schemas/README.md)."""
    schema = json.loads(ZENODO_SCHEMA.read_text(encoding="utf-8"))
    assert "version" not in schema["properties"], "the schema has version now: drop this addition"
    schema["properties"]["version"] = {"type": "string", "description": "Version of the resource."}
    return schema


def _is_paper(ref: dict) -> bool:
    ids = " ".join(str(i.get("value", "")) for i in ref.get("identifiers", []))
    return "2306.08310" in f"{ref.get('url', '')} {ids}" and ref.get("year") == 2023


def _related(zenodo: dict, scheme: str) -> list[dict]:
    return [r for r in zenodo.get("related_identifiers", []) if r.get("scheme") == scheme]


# --- the vendored schemas are the published ones

@pytest.mark.parametrize("schema", [CFF_SCHEMA, ZENODO_SCHEMA], ids=lambda p: p.name)
def test_the_schema_copies_are_the_published_files(schema):
    """Each copy has the SHA-256 its README gives with the source commit."""
    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith(f"| `{schema.name}` |"))
    documented = re.search(r"SHA-256 `([0-9a-f]{64})`", row).group(1)
    assert hashlib.sha256(schema.read_bytes()).hexdigest() == documented, f"{schema.name} differs from its source"


def test_every_format_the_schemas_use_is_checked_in_the_test_processes():
    """The test processes do without rfc3987_syntax (tests/conftest.py), so jsonschema leaves the "iri" formats
    unchecked there: every format the schemas use must be one it still checks."""
    import jsonschema

    used = {m for p in SCHEMAS.glob("*.json") for m in re.findall(r'"format":\s*"([^"]+)"', p.read_text())}
    assert used and used <= set(jsonschema.FormatChecker().checkers), used - set(jsonschema.FormatChecker().checkers)


# --- CITATION.cff

def test_citation_cff_is_valid_against_the_cff_1_2_0_schema(cff):
    assert str(cff["cff-version"]) == "1.2.0"
    assert not _errors(cff_schema(), cff)


def test_the_cff_schema_catches_what_cffconvert_refuses(cff):
    """The schema check is not vacuous: a date in another form, a misspelt key and a missing title fail."""
    schema = cff_schema()
    assert _errors(schema, {**cff, "date-released": "7 December 2026"})
    assert _errors(schema, {**cff, "licence": "MIT"})
    assert _errors(schema, {k: v for k, v in cff.items() if k != "title"})


def _cffconvert() -> Path:
    tool = Path(os.environ.get(CFFCONVERT_ENV) or CFFCONVERT_DEFAULT)
    tool = tool if tool.is_absolute() else ROOT / tool
    if not tool.is_file():
        pytest.fail(f"cffconvert not found at {tool}: make test installs it in {CFFCONVERT_DEFAULT} (its own "
                    f"environment, as cffconvert 2.0.0 needs jsonschema < 4); or set {CFFCONVERT_ENV} to a "
                    "cffconvert 2.0.0 command")
    return tool


def test_cffconvert_validates_citation_cff_and_refuses_a_broken_copy(tmp_path):
    """`cffconvert --validate -i CITATION.cff`, as a maintainer runs it, agrees with the schema check above."""
    tool = _cffconvert()
    ok = subprocess.run([str(tool), "--validate", "-i", str(ROOT / "CITATION.cff")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Citation metadata are valid according to schema version 1.2.0." in ok.stdout
    broken = tmp_path / "CITATION.cff"
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    broken.write_text(re.sub(r"^date-released: .*$", 'date-released: "7 December 2026"', text, flags=re.M),
                      encoding="utf-8")
    bad = subprocess.run([str(tool), "--validate", "-i", str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "date" in (bad.stdout + bad.stderr)


def test_citation_cff_describes_the_compendium(cff):
    assert cff["type"] == "software"
    assert "TWIGMA" in cff["title"]
    assert cff["license"] == "MIT"
    assert cff["authors"] and all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert cff["message"].strip()


def test_citation_cff_references_the_paper_and_the_dataset(cff):
    refs = cff["references"]
    papers = [r for r in refs if r["type"] == "conference-paper" and _is_paper(r)]
    assert len(papers) == 1, "CITATION.cff must reference the paper (arXiv 2306.08310) once"
    assert {a["family-names"] for a in papers[0]["authors"]} == {"Chen", "Zou"}
    assert ARXIV_ID in [i["value"] for i in papers[0]["identifiers"]]
    data = [r for r in refs if r["type"] == "data"]
    assert len(data) == 1, "CITATION.cff must reference the Zenodo dataset once"
    assert data[0]["doi"] == facts.DOI == "10.5281/zenodo.8031785"
    assert data[0]["license"] == "CC-BY-4.0"


def test_citation_cff_prefers_the_paper(cff):
    pref = cff["preferred-citation"]
    assert pref["type"] == "conference-paper" and _is_paper(pref)
    assert pref["title"] == next(r for r in cff["references"] if r["type"] == "conference-paper")["title"]


# --- .zenodo.json

def test_zenodo_json_is_valid_legacy_deposit_metadata(zenodo):
    assert not _errors(zenodo_schema(), zenodo)


def test_the_zenodo_schema_catches_what_zenodo_refuses(zenodo):
    """A relation outside Zenodo's vocabulary, an unknown key and an unknown upload type fail."""
    schema = zenodo_schema()
    misspelt = [{**r, "relation": "isSuplementTo"} for r in zenodo["related_identifiers"]]
    assert _errors(schema, {**zenodo, "related_identifiers": misspelt})
    assert _errors(schema, {**zenodo, "licence": "MIT"})
    assert _errors(schema, {**zenodo, "upload_type": "code"})


def test_zenodo_json_archives_software_with_the_fields_zenodo_requires(zenodo):
    """Zenodo's deposit metadata requires upload_type, title, creators, description, and a licence for an
    open record (https://developers.zenodo.org/#representation)."""
    assert zenodo["upload_type"] == "software" and zenodo["access_right"] == "open"
    for key in ("title", "description", "license", "version"):
        assert str(zenodo.get(key, "")).strip(), f".zenodo.json has no {key}"
    assert zenodo["creators"] and all(c["name"].strip() for c in zenodo["creators"])


def test_zenodo_json_links_the_paper_and_the_data(zenodo):
    """Both related identifiers in the form Zenodo detects their scheme from (it validates the identifier
    against the scheme: an arXiv id after 2007, a bare DOI)."""
    arxiv, dois = _related(zenodo, "arxiv"), _related(zenodo, "doi")
    assert [r["identifier"] for r in arxiv] == [ARXIV_ID]
    assert re.fullmatch(r"arXiv:\d{4}\.\d{4,5}", ARXIV_ID)
    assert [r["identifier"] for r in dois] == [facts.DOI]
    assert re.fullmatch(r"10\.\d{4,9}/\S+", facts.DOI)
    assert {r["relation"] for r in arxiv + dois} == {"references"}
    assert [r["resource_type"] for r in arxiv + dois] == ["publication-conferencepaper", "dataset"]


# --- the two agree

def test_citation_cff_and_zenodo_json_agree(cff, zenodo):
    assert zenodo["title"] == cff["title"]
    assert zenodo["version"] == cff["version"]
    assert zenodo["license"] == cff["license"]
    assert zenodo["keywords"] == cff["keywords"]
    names = [a.get("name") or f"{a['family-names']}, {a['given-names']}" for a in cff["authors"]]
    assert [c["name"] for c in zenodo["creators"]] == names
    cff_ids = {i["value"] for r in cff["references"] for i in r.get("identifiers", [])}
    cff_ids |= {r["doi"] for r in cff["references"] if "doi" in r}
    assert {r["identifier"] for r in _related(zenodo, "arxiv") + _related(zenodo, "doi")} == cff_ids


def test_zenodo_json_holds_what_cffconvert_makes_of_citation_cff(zenodo):
    """cffconvert's own conversion of CITATION.cff to Zenodo's metadata (`cffconvert -f zenodo`) gives the
    fields .zenodo.json shares with it; .zenodo.json adds what the conversion leaves out (the related
    identifiers, a description that names the paper and the data)."""
    r = subprocess.run([str(_cffconvert()), "-f", "zenodo", "-i", str(ROOT / "CITATION.cff")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    converted = json.loads(r.stdout)
    for key in ("title", "version", "creators", "keywords"):
        assert zenodo[key] == converted[key], key
    assert zenodo["license"] == converted["license"]["id"]


def test_the_repository_url_is_pyprojects_wherever_it_is_given(cff, zenodo):
    """No URL of the code that pyproject.toml does not give: CITATION.cff's repository-code is its
    Repository (both absent until there is one), and every URL .zenodo.json links lies in it."""
    repo = repository_url()
    assert cff.get("repository-code") == repo
    for r in _related(zenodo, "url"):
        assert repo and r["identifier"].startswith(f"{repo}/"), f"{r['identifier']} is not in {repo}"


@pytest.mark.xfail(repository_url() is None, strict=True,
                   reason="no public repository yet: set Repository under [project.urls] in pyproject.toml "
                          "(docs/releasing.md)")
def test_the_archives_name_the_repository(cff, zenodo):
    """CITATION.cff's repository-code, and .zenodo.json's link to the release's code, which Zenodo adds by
    itself only when .zenodo.json gives no related identifiers (docs/releasing.md)."""
    repo = repository_url()
    assert repo, "pyproject.toml names no Repository under [project.urls]"
    assert cff.get("repository-code") == repo
    code = [r for r in _related(zenodo, "url") if r["relation"] == "isSupplementTo"]
    assert [r["identifier"] for r in code] == [f"{repo}/tree/v{zenodo['version']}"]
    assert code[0]["resource_type"] == "software"
