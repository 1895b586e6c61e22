"""The isolated environments rehearsals run in: they hold what the job declares, nothing
more, so a dependency the package forgets fails here instead of in the cloud."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from local_support import load_spec, wait_done

from cloudgd import bundle
from cloudgd.plan import JobState, RenderContext
from providers.local.isolated_env import (
    EnvError,
    EnvRequest,
    build,
    env_python,
    explain_missing_module,
    link_distributions,
    resolve,
)
from providers.local.provider import LocalProvider


def _imports(env: Path, module: str) -> bool:
    done = subprocess.run(
        [str(env_python(env)), "-c", f"import {module}"], capture_output=True, check=False
    )
    return done.returncode == 0


def test_an_environment_holds_what_is_declared_and_nothing_else(tmp_path: Path) -> None:
    env, _ = build(EnvRequest(label="the test", requires=("pyyaml",)), tmp_path / "envs")
    assert _imports(env, "yaml")
    assert not _imports(env, "pydantic")  # installed here, but nobody declared it
    # built once: the same request finds the cached environment
    again, notes = build(EnvRequest(label="the test", requires=("pyyaml",)), tmp_path / "envs")
    assert again == env and notes == [f"reusing the isolated environment {env}"]


def test_dependencies_of_declared_packages_come_along(tmp_path: Path) -> None:
    env, _ = build(EnvRequest(label="the test", requires=("pydantic>=2",)), tmp_path / "envs")
    # pydantic's own metadata requires pydantic-core and typing-extensions
    assert _imports(env, "pydantic_core") and _imports(env, "typing_extensions")


def test_a_declared_package_missing_here_is_named() -> None:
    with pytest.raises(EnvError, match=r"the Vertex package requires 'no-such-dist-cgd>=1'"):
        resolve([("no-such-dist-cgd>=1", "the Vertex package")])


def test_a_namespace_directory_shared_with_undeclared_packages_is_split(tmp_path: Path) -> None:
    root = tmp_path / "host-site"
    for rel, text in {"ns/a/__init__.py": "A = 1\n", "ns/b/__init__.py": "B = 1\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    for name, rel in (("ns-a", "ns/a/__init__.py"), ("ns-b", "ns/b/__init__.py")):
        info = root / f"{name.replace('-', '_')}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "RECORD").write_text(f"{rel},,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
    import importlib.metadata as md

    [dist_a] = [d for d in md.distributions(path=[str(root)]) if d.metadata["Name"] == "ns-a"]
    site = tmp_path / "site"
    link_distributions([dist_a], site)
    assert (site / "ns").is_dir() and not (site / "ns").is_symlink()
    assert (site / "ns" / "a").resolve() == (root / "ns" / "a").resolve()
    assert not (site / "ns" / "b").exists()


@pytest.mark.slow
def test_a_vertex_package_that_forgets_a_dependency_fails_its_rehearsal(
    provider: LocalProvider, ctx: RenderContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = [r for r in bundle.package_requirements() if not r.startswith("pydantic")]
    monkeypatch.setattr(bundle, "package_requirements", lambda: tuple(declared))
    plan = provider.plan(load_spec(providers={"local": {"emulate": "gcp"}}), ctx)
    final = wait_done(provider, provider.submit(plan), timeout=300)
    assert final.state is JobState.FAILED
    assert final.message is not None
    first = final.message.splitlines()[0]
    assert "No module named 'pydantic'" in first
    assert "the Vertex package does not declare" in first


@pytest.mark.slow
def test_an_azure_environment_that_lacks_a_dependency_fails_its_rehearsal(
    provider: LocalProvider, ctx: RenderContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    from providers.azure import environment as azure_environment

    real = azure_environment.environment_requirements

    def without_pydantic(kind: str | None = None, source: str | None = None) -> tuple[str, ...]:
        return tuple(r for r in real(kind, source) if not r.startswith("pydantic"))

    monkeypatch.setattr(azure_environment, "environment_requirements", without_pydantic)
    plan = provider.plan(load_spec(providers={"local": {"emulate": "azure"}}), ctx)
    assert "pydantic" not in str(plan.request["layout"]["python_env"]["requires"])
    final = wait_done(provider, provider.submit(plan), timeout=300)
    assert final.state is JobState.FAILED
    assert final.message is not None
    first = final.message.splitlines()[0]
    assert "No module named 'pydantic'" in first
    assert "the Azure ML environment does not declare" in first


def test_extras_that_require_each_other_are_followed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata as md

    from providers.local import isolated_env

    metadata = {
        "a": 'Provides-Extra: y\nRequires-Dist: b[x]; extra == "y"\n',
        "b": 'Provides-Extra: x\nRequires-Dist: a[y]; extra == "x"\n',
    }
    for name, extra in metadata.items():
        info = tmp_path / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{extra}"
        )
    fake = {d.metadata["Name"]: d for d in md.distributions(path=[str(tmp_path)])}
    monkeypatch.setattr(isolated_env, "installed_here", lambda: fake)
    found = resolve([("a[y]", "the test")])  # a[y] -> b[x] -> a[y] -> ... must end
    assert sorted(found.dists) == ["a", "b"]


def test_a_missing_import_is_named_whether_python_or_the_trainer_reports_it() -> None:
    label = "the Azure ML environment"
    raw = ["Traceback (most recent call last):", "ModuleNotFoundError: No module named 'optuna.x'"]
    assert str(explain_missing_module(raw, label)).startswith(
        "No module named 'optuna': the Azure ML environment does not declare"
    )
    custom = ["error: model.entrypoint: cannot import 'mymodel': No module named 'optuna'"]
    assert "No module named 'optuna'" in str(explain_missing_module(custom, label))
    # the job's own module missing from its code dir is not a package to declare
    own = ["error: model.entrypoint: cannot import 'mymodel': No module named 'mymodel'"]
    assert explain_missing_module(own, label) is None


@pytest.mark.parametrize(
    ("line", "module"),
    [
        ("/env/bin/python: No module named trainers.nope", "trainers.nope"),
        (
            "/env/bin/python3.11: Error while finding module specification for 'pkg.sub' "
            "(ModuleNotFoundError: No module named 'pkg')",
            "pkg.sub",
        ),
    ],
)
def test_python_dash_m_naming_a_module_that_is_nowhere_says_so(line: str, module: str) -> None:
    # not "declare the distribution": the module a job runs is its own, not a package's
    assert str(explain_missing_module([line], "the Vertex package")).startswith(
        f"python -m {module}: no such module in the job's code or in the Vertex package"
    )
