import pytest

from evolve.config import ConfigError, RunConfig


def test_a_toml_file_sets_fields_under_run_and_command_line_overrides_win(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("[run]\niterations = 7\nislands = 3\nmutators = { tune = 1.0 }\n")
    config = RunConfig.from_toml(path).replace(iterations=9, seed=None)
    assert (config.iterations, config.islands, config.mutators, config.seed) == (9, 3, {"tune": 1.0}, 0)


def test_unknown_fields_and_impossible_values_are_named_in_the_error(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("iteratons = 7\n")
    with pytest.raises(ConfigError, match="iteratons"):
        RunConfig.from_toml(path)
    with pytest.raises(ConfigError, match="islands must be at least 1"):
        RunConfig(islands=0)
    with pytest.raises(ConfigError, match="positive weight"):
        RunConfig(mutators={"genetic": 0.0})


def test_a_value_of_the_wrong_type_is_named_with_the_type_expected(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('[run]\niterations = "10"\n')
    with pytest.raises(ConfigError, match=r"iterations must be int, got '10' \(str\)"):
        RunConfig.from_toml(path)
    with pytest.raises(ConfigError, match="seed must be int, got True"):
        RunConfig(seed=True)
    with pytest.raises(ConfigError, match="unsafe_no_sandbox must be bool, got 1"):
        RunConfig(unsafe_no_sandbox=1)
    assert RunConfig(max_wall_seconds=60).max_wall_seconds == 60, "an integer is a fine float"


def test_search_objectives_pick_and_order_the_problems_objectives_or_name_the_unknown_one():
    from problems import registry

    spec = registry.load("tardiness").spec
    assert [o.name for o in RunConfig().search_objectives(spec)] == ["gap", "time_ms"]
    assert [o.name for o in RunConfig(objectives=["time_ms", "gap"]).search_objectives(spec)] == [
        "time_ms",
        "gap",
    ]
    with pytest.raises(ConfigError, match="unknown objective.*speed.*this problem has gap, time_ms"):
        RunConfig(objectives=("speed",)).search_objectives(spec)
    with pytest.raises(ConfigError, match="repeat"):
        RunConfig(objectives=("gap", "gap"))
    with pytest.raises(ConfigError, match="executor must be local or ray"):
        RunConfig(executor="dask")
