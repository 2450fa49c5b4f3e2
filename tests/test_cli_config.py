"""The typer app: every verb exists, --config files work and are validated, flags override them."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from depthcur.cli import app
from depthcur.core.config import ConfigOption


def flat(output: str) -> str:
    """CLI output without rich's box drawing and line wrapping."""
    return " ".join(output.replace("│", " ").split())

VERBS = ("render", "capture", "curate", "build-shards", "shards", "train", "eval", "demo")


def test_every_design_verb_is_registered():
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    for verb in VERBS:
        assert f" {verb} " in result.output, verb


@pytest.fixture()
def probe_app():
    """A throwaway command using the shared --config option, to test the mechanism itself."""
    probe = typer.Typer()

    @probe.command()
    def run(samples_per_shard: int = typer.Option(4, "--samples-per-shard"),
            formats: str = typer.Option("parquet", "--formats"), config: ConfigOption = None) -> None:
        typer.echo(f"{samples_per_shard}|{formats}")

    return probe


def test_config_file_sets_defaults_and_flags_override(probe_app, tmp_path):
    yaml_file = tmp_path / "c.yaml"
    yaml_file.write_text("samples-per-shard: 9\nformats: webdataset\n")
    toml_file = tmp_path / "c.toml"
    toml_file.write_text('samples_per_shard = 7\n')
    run = CliRunner().invoke
    assert run(probe_app, ["--config", str(yaml_file)]).output.strip() == "9|webdataset"
    assert run(probe_app, ["--config", str(toml_file)]).output.strip() == "7|parquet"
    assert run(probe_app, ["--samples-per-shard", "2", "--config", str(yaml_file)]).output.strip() == "2|webdataset"


@pytest.mark.parametrize("content, suffix, message", [
    ("samples-per-shard: 9\nbogus: 1\n", ".yaml", "unknown key(s) bogus"),
    ("samples-per-shard: lots\n", ".yaml", "key 'samples-per-shard'"),
    ("samples-per-shard: [1\n", ".yaml", "is not valid"),
    ("- 1\n- 2\n", ".yaml", "must hold a mapping"),
    ("x = 1\n", ".ini", "use a .yaml"),
])
def test_bad_config_files_name_the_file_and_key(probe_app, tmp_path, content, suffix, message):
    path = tmp_path / f"c{suffix}"
    path.write_text(content)
    result = CliRunner().invoke(probe_app, ["--config", str(path)])
    assert result.exit_code == 2
    assert message in flat(result.output) and path.name in flat(result.output)


def test_missing_config_file(probe_app, tmp_path):
    result = CliRunner().invoke(probe_app, ["--config", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "does not exist" in flat(result.output)


def test_build_shards_reads_its_options_from_a_config_file(tmp_path):
    cfg = tmp_path / "shards.yaml"
    cfg.write_text(f"in: ['{tmp_path / 'missing'}']\nout: {tmp_path / 'out'}\nsamples-per-shard: 0\n")
    result = CliRunner().invoke(app, ["build-shards", "--config", str(cfg)], terminal_width=200)
    assert result.exit_code == 2 and "samples-per-shard" in flat(result.output)  # min=1 applies to file values
