"""Packaging: the frozen entry point, child processes, the wheel, and a built one-folder app.

The tests of a built app run when LOCALAI_FROZEN_APP names its folder (CI builds it with
packaging/build_linux.sh first); the others run everywhere.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from localai_desktop import __version__
from localai_desktop.core.common import child_process
from localai_desktop.core.common.child_process import RUN_MODULE_FLAG, module_command
from localai_desktop.launcher import main as launcher_main
from localai_desktop.launcher import wants_cli

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGING = REPO_ROOT / "packaging"
RESOURCES = REPO_ROOT / "resources"
ICON = "localai-desktop"
ENTRY = "org.localai.desktop"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
# The desktop integration, as laid out under share/ in the app folder and /usr/share by the .deb.
SHARED_FILES = (
    f"applications/{ENTRY}.desktop",
    f"metainfo/{ENTRY}.metainfo.xml",
    f"icons/hicolor/scalable/apps/{ICON}.svg",
    *(f"icons/hicolor/{n}x{n}/apps/{ICON}.png" for n in ICON_SIZES),
)
FROZEN_APP_ENV = "LOCALAI_FROZEN_APP"
PROBE_MODULE = "localai_desktop.core.models.probe"


def load_packaging_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without anything that points Python at this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LOCALAI_DATA_DIR")}
    env.update(QT_QPA_PLATFORM="offscreen", **extra)
    return env


# -- entry point and child processes ----------------------------------------------------------


def test_the_program_name_picks_the_command_line_or_the_app() -> None:
    assert wants_cli("localai")
    assert wants_cli("/opt/localai-desktop/localai")
    assert wants_cli("localai.exe")
    assert not wants_cli("/opt/localai-desktop/localai-desktop")
    assert not wants_cli("LocalAI Desktop")
    assert not wants_cli("")


def test_the_launcher_runs_the_command_line_under_its_name(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = launcher_main(
        ["/opt/app/localai", "--data-dir", str(data_dir), "models", "list", "--json"]
    )
    assert code == 0
    assert json.loads(capsys.readouterr().out) == []


def test_child_commands_use_python_from_source() -> None:
    assert module_command("localai_desktop.core.models.probe", "m.gguf") == [
        sys.executable,
        "-m",
        "localai_desktop.core.models.probe",
        "m.gguf",
    ]


def test_frozen_child_commands_go_through_the_console_executable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On Windows the windowed executable has no stdout for a child's JSON report.
    app = tmp_path / "localai-desktop"
    app.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(app))
    assert module_command("pkg.mod", "a") == [str(app), RUN_MODULE_FLAG, "pkg.mod", "a"]
    (tmp_path / "localai").write_bytes(b"")
    assert module_command("pkg.mod", "a") == [
        str(tmp_path / "localai"),
        RUN_MODULE_FLAG,
        "pkg.mod",
        "a",
    ]
    # A frozen child needs no PYTHONPATH: everything is inside the bundle.
    assert child_process.child_env().get("PYTHONPATH") == os.environ.get("PYTHONPATH")


def test_the_run_module_flag_runs_the_model_probe_in_a_child(stories260k: Path) -> None:
    # The same dispatch the frozen app does, from source: launcher, flag, module, arguments.
    entry = "import sys; from localai_desktop.launcher import main; sys.exit(main())"
    result = subprocess.run(
        [sys.executable, "-c", entry, RUN_MODULE_FLAG, PROBE_MODULE, str(stories260k)],
        capture_output=True,
        text=True,
        timeout=120,
        env=child_process.child_env(),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"ok": True}


def child_modules_in_source() -> set[str]:
    """Every module the app starts as a child with module_command("...")."""
    modules = set()
    for path in (REPO_ROOT / "localai_desktop").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "module_command"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                modules.add(node.args[0].value)
    return modules


def test_every_child_module_can_run_as_a_script() -> None:
    modules = child_modules_in_source()
    assert "localai_desktop.core.models.probe" in modules
    for module in modules:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin, f"{module} does not exist"
        source = Path(spec.origin).read_text(encoding="utf-8")
        assert 'if __name__ == "__main__":' in source, f"{module} cannot run as a child"


def test_a_packaged_app_without_fine_tuning_does_not_tell_people_to_pip_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from localai_desktop.core.finetune import stack

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(stack.importlib.util, "find_spec", lambda name, *a: None)
    problem = stack.training_stack_problem()
    assert problem is not None and "edition" in problem and "pip" not in problem
    with pytest.raises(stack.TrainingUnavailableError) as caught:
        stack.require_training_stack()
    assert "not included in this edition" in caught.value.message


# -- build scripts ----------------------------------------------------------------------------


def test_llama_build_info_spots_a_build_tied_to_this_cpu() -> None:
    info = load_packaging_script("llama_build_info")
    portable = "SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 |"
    native = portable + " AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 |"
    assert info.cpu_specific_flags(portable) == []
    assert info.cpu_specific_flags(native) == ["AVX512", "AMX_INT8", "AVX512_VNNI"]


def test_the_platform_scripts_build_the_same_spec_and_executables() -> None:
    for script in ("build_linux.sh", "build_macos.sh", "build_windows.ps1"):
        text = (PACKAGING / script).read_text(encoding="utf-8")
        assert "packaging/localai_desktop.spec" in text.replace("\\", "/"), script
        assert "llama_build_info.py" in text, f"{script} does not check the llama.cpp build"
    spec = (PACKAGING / "localai_desktop.spec").read_text(encoding="utf-8")
    assert 'name="localai-desktop"' in spec and 'name="localai"' in spec
    # The installer takes the spec's whole output folder, so both executables.
    installer = (PACKAGING / "windows" / "localai_desktop.iss").read_text(encoding="utf-8")
    assert "COLLECT(" in spec and 'name="localai-desktop",\n)' in spec
    assert '#define AppFolder "..\\..\\dist\\localai-desktop"' in installer
    assert "recursesubdirs" in installer and "{app}\\localai-desktop.exe" in installer


def test_the_spec_leaves_out_no_qt_module_the_app_imports() -> None:
    spec = (PACKAGING / "localai_desktop.spec").read_text(encoding="utf-8")
    excluded = set(re.findall(r'"(PySide6\.Qt\w+)"', spec))
    assert "PySide6.QtNetwork" in excluded
    imported = set()
    for path in (REPO_ROOT / "localai_desktop").rglob("*.py"):
        imported |= set(re.findall(r"PySide6\.Qt\w+", path.read_text(encoding="utf-8")))
    assert "PySide6.QtWidgets" in imported
    assert not imported & excluded, "the app imports a Qt module the spec leaves out"


@pytest.mark.parametrize("script", ["build_linux.sh", "build_macos.sh", "install_llama_cpp.sh"])
def test_shell_scripts_parse(script: str) -> None:
    result = subprocess.run(["bash", "-n", str(PACKAGING / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- resources/: icons, desktop entry, AppStream metadata ------------------------------------


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_icon_is_made_in_every_size_the_packages_use() -> None:
    icons = RESOURCES / "icons"
    for n in ICON_SIZES:
        assert png_size(icons / "hicolor" / f"{n}x{n}" / "apps" / f"{ICON}.png") == (n, n)
    # The window's own copy, package data (pyproject.toml) that the bundle collects.
    package_icons = REPO_ROOT / "localai_desktop" / "resources" / "icons"
    for n in (16, 32, 48, 256):
        assert png_size(package_icons / f"{ICON}-{n}.png") == (n, n)
    ico = (icons / f"{ICON}.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    sides = [ico[6 + 16 * i] or 256 for i in range(count)]
    assert (reserved, kind) == (0, 1) and sides == [16, 24, 32, 48, 64, 128, 256]
    icns = (icons / f"{ICON}.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert b"ic10" in icns and b"icp4" in icns  # 1024 px (512 @2x) down to 16 px


def test_the_desktop_entry_and_metadata_name_the_same_app() -> None:
    from localai_desktop.ui.shell.app_icon import DESKTOP_ENTRY  # the app's Wayland app id

    entry_file = RESOURCES / "linux" / f"{DESKTOP_ENTRY}.desktop"
    entry = dict(line.split("=", 1) for line in entry_file.read_text().splitlines() if "=" in line)
    assert entry["Icon"] == ICON and entry["Exec"] == "localai-desktop"
    # X11 matches windows to the entry by WM_CLASS, whose first part is the program's name.
    assert entry["StartupWMClass"] == "localai-desktop"
    assert entry["Categories"] and entry["Keywords"]
    component = ET.parse(RESOURCES / "linux" / f"{DESKTOP_ENTRY}.metainfo.xml").getroot()
    assert component.findtext("id") == DESKTOP_ENTRY
    assert component.findtext("launchable") == entry_file.name
    assert component.findtext("project_license") == "MIT"
    assert component.find("content_rating") is not None
    newest = component.find("releases/release")
    assert newest is not None and newest.get("version") == __version__


@pytest.mark.parametrize(
    ("tool", "args", "name"),
    [
        ("desktop-file-validate", (), f"{ENTRY}.desktop"),
        ("appstreamcli", ("validate", "--no-net"), f"{ENTRY}.metainfo.xml"),
    ],
)
def test_the_desktop_files_pass_their_validators(
    tool: str, args: tuple[str, ...], name: str
) -> None:
    # Where installed (apt-get install desktop-file-utils appstream); CI does not need them.
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    result = subprocess.run(
        [tool, *args, str(RESOURCES / "linux" / name)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- the wheel --------------------------------------------------------------------------------


def setuptools_version() -> tuple[int, ...]:
    import setuptools

    return tuple(int(part) for part in re.findall(r"\d+", setuptools.__version__)[:2])


PIP = (sys.executable, "-m", "pip")
REPO = str(REPO_ROOT)


@pytest.mark.slow
def test_the_wheel_installs_both_commands_the_catalog_and_the_icon(tmp_path: Path) -> None:
    if setuptools_version() < (77,):
        pytest.skip("building the wheel needs setuptools>=77: pip install -e '.[package]'")
    wheels = tmp_path / "wheels"
    subprocess.run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels), REPO],
        check=True,
        timeout=300,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("localai_desktop-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    venv_python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    subprocess.run(
        [*PIP, "--python", str(venv_python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    # The dependencies come from this environment; its editable install of our package is a
    # .pth file there, which Python does not read from a folder added this way.
    site = subprocess.run(
        [str(venv_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    bin_dir = venv_python.parent
    env = clean_env()

    def run(program: str, *args: str) -> str:
        result = subprocess.run(
            [str(bin_dir / program), *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert run("localai", "--version").strip() == f"localai {__version__}"
    assert run("localai-desktop", "--version").strip() == f"localai-desktop {__version__}"
    origin = run("python", "-c", "import localai_desktop; print(localai_desktop.__file__)")
    assert Path(origin.strip()).is_relative_to(venv)
    catalog = run("localai", "--data-dir", str(tmp_path / "data"), "models", "catalog")
    assert "Qwen2.5 0.5B Instruct" in catalog
    count_icons = "from localai_desktop.ui.shell import app_icon; print(len(app_icon.icon_files()))"
    assert run("python", "-c", count_icons).strip() == "4"  # the window's icon, package data
    assert "Smoke test passed" in run(
        "localai-desktop", "--data-dir", str(tmp_path / "data"), "--smoke-test"
    )


# -- a built app (LOCALAI_FROZEN_APP) ---------------------------------------------------------


@pytest.fixture(scope="module")
def frozen_app() -> Path:
    folder = os.environ.get(FROZEN_APP_ENV)
    if not folder:
        pytest.skip(f"no built app: run packaging/build_linux.sh, set {FROZEN_APP_ENV}")
    path = Path(folder).resolve()
    assert (path / "localai-desktop").is_file(), f"{path} holds no built app"
    return path


def run_frozen(
    app: Path, program: str, *args: str, cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(app / program), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=clean_env(),
        cwd=cwd,  # not the checkout: nothing may come from the source tree
        check=False,
    )


def test_the_built_app_holds_llama_cpp_qt_plugins_and_resources(frozen_app: Path) -> None:
    inside = frozen_app / "_internal"
    assert list((inside / "llama_cpp" / "lib").glob("libllama*"))
    assert list((inside / "llama_cpp" / "lib").glob("libggml*"))
    platforms = {p.name for p in (inside / "PySide6" / "Qt" / "plugins" / "platforms").iterdir()}
    for plugin in ("libqoffscreen.so", "libqxcb.so", "libqwayland.so"):
        assert plugin in platforms
    catalog = json.loads((inside / "localai_desktop" / "resources" / "catalog.json").read_text())
    assert catalog
    assert (inside / "localai_desktop" / "resources" / "icons" / f"{ICON}-16.png").is_file()
    # Left out on purpose: Qt modules we do not use, and the GTK theme with its own GLib.
    names = {p.name for p in inside.rglob("*")}
    assert not {n for n in names if n.startswith(("libQt6Network", "libQt6Pdf", "libQt6Qml"))}
    assert "libqgtk3.so" not in names and "libgtk-3.so.0" not in names


def test_the_built_app_passes_the_smoke_test(frozen_app: Path, tmp_path: Path) -> None:
    result = run_frozen(
        frozen_app,
        "localai-desktop",
        "--data-dir",
        str(tmp_path / "d"),
        "--smoke-test",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Smoke test passed" in result.stdout


def test_the_built_command_line_imports_a_model_and_chats(
    frozen_app: Path, tmp_path: Path, stories260k: Path
) -> None:
    data = str(tmp_path / "d")
    # The import checks the file in a child process: the frozen run-module path.
    imported = run_frozen(
        frozen_app,
        "localai",
        "--data-dir",
        data,
        "models",
        "import",
        str(stories260k),
        "--name",
        "stories",
        cwd=tmp_path,
    )
    assert imported.returncode == 0, imported.stderr
    chat = run_frozen(
        frozen_app,
        "localai",
        "--data-dir",
        data,
        "chat",
        "--model",
        "stories",
        "--seed",
        "1",
        "--max-tokens",
        "40",
        "Once upon a time",
        cwd=tmp_path,
    )
    assert chat.returncode == 0, chat.stderr
    shown = run_frozen(
        frozen_app, "localai", "--data-dir", data, "chats", "show", "1", "--json", cwd=tmp_path
    )
    answer = json.loads(shown.stdout)["messages"][-1]
    assert answer["status"] == "complete" and answer["provenance"]["completion_tokens"] == 40
    assert answer["content"].strip() and answer["content"] in chat.stdout
    catalog = run_frozen(
        frozen_app, "localai", "--data-dir", data, "models", "catalog", cwd=tmp_path
    )
    assert "Qwen2.5 0.5B Instruct" in catalog.stdout


def test_the_built_command_line_indexes_a_scanned_pdf(
    frozen_app: Path, tmp_path: Path, models_dir: Path
) -> None:
    """The OCR models and ONNX Runtime are inside the app: a scan's page 2 is found offline."""
    from tests.support import scans

    data = str(tmp_path / "d")
    scan = scans.write_scanned_letter(tmp_path / "referral-scan.pdf")

    def localai(*args: str) -> subprocess.CompletedProcess[str]:
        return run_frozen(frozen_app, "localai", "--data-dir", data, *args, cwd=tmp_path)

    imported = localai("models", "import", str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf"))
    assert imported.returncode == 0, imported.stderr
    assert localai("docs", "create", "Letters").returncode == 0
    added = localai("docs", "add", "Letters", str(scan))
    assert added.returncode == 0, added.stderr
    assert "text recognised on 3 of 3 pages" in added.stderr
    found = localai("docs", "search", "Letters", "warfarin", "--json", "-k", "1")
    assert json.loads(found.stdout)[0]["page"] == 2
    status = json.loads(localai("docs", "status", "Letters", "--json").stdout)
    assert status["files"][0]["pages_recognised"] == 3


def test_the_built_app_window_answers_a_chat(
    frozen_app: Path, tmp_path: Path, stories260k: Path
) -> None:
    screenshot = tmp_path / "window.png"
    result = run_frozen(
        frozen_app,
        "localai-desktop",
        RUN_MODULE_FLAG,
        "localai_desktop.ui.shell.self_check",
        "--model",
        str(stories260k),
        "--screenshot",
        str(screenshot),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["ok"] and report["status"] == "complete" and report["completion_tokens"] == 32
    assert report["qt_platform"] == "offscreen" and report["answer"].strip()
    assert report["window_icon_sizes"] == [16, 32, 48, 256]
    assert screenshot.stat().st_size > 10_000  # a real window, painted with text


def test_the_tarball_and_the_deb_hold_the_app(frozen_app: Path, tmp_path: Path) -> None:
    dist = frozen_app.parent
    tarballs = sorted(dist.glob(f"localai-desktop-{__version__}-linux-*.tar.gz"))
    if not tarballs:
        pytest.skip(f"no tarball next to {frozen_app} (build_linux.sh makes one)")
    with tarfile.open(tarballs[-1]) as tar:
        names = set(tar.getnames())
    top = "localai-desktop"
    for name in ("localai-desktop", "localai", "install-desktop-entry.sh", "LICENSE.txt"):
        assert f"{top}/{name}" in names
    for name in SHARED_FILES:
        assert f"{top}/share/{name}" in names
    debs = sorted(dist.glob(f"localai-desktop_{__version__}_*.deb"))
    if not debs:
        return
    root = tmp_path / "deb"
    subprocess.run(["dpkg-deb", "-x", str(debs[-1]), str(root)], check=True, timeout=300)
    assert os.readlink(root / "usr/bin/localai") == "/opt/localai-desktop/localai"
    assert os.readlink(root / "usr/bin/localai-desktop") == "/opt/localai-desktop/localai-desktop"
    for name in SHARED_FILES:
        assert (root / "usr/share" / name).is_file(), name
    assert not (root / "opt/localai-desktop/share").exists()
    version = run_frozen(root / "opt/localai-desktop", "localai", "--version", cwd=tmp_path)
    assert version.stdout.strip() == f"localai {__version__}"
    depends = subprocess.run(
        ["dpkg-deb", "-f", str(debs[-1]), "Depends"], capture_output=True, text=True, check=True
    ).stdout
    assert "libxcb-icccm4" in depends and "libc6 (>= 2." in depends


def test_the_tarball_adds_itself_to_the_application_menu(frozen_app: Path, tmp_path: Path) -> None:
    script = frozen_app / "install-desktop-entry.sh"
    if not script.is_file():
        pytest.skip("the app folder was not made by build_linux.sh")
    env = clean_env(XDG_DATA_HOME=str(tmp_path))
    subprocess.run([str(script)], check=True, env=env, capture_output=True)
    entry = (tmp_path / "applications" / f"{ENTRY}.desktop").read_text()
    assert f'Exec="{frozen_app}/localai-desktop"' in entry
    for name in SHARED_FILES:
        assert (tmp_path / name).is_file(), name
    subprocess.run([str(script), "--remove"], check=True, env=env, capture_output=True)
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


def test_programs_the_built_app_starts_get_the_users_library_path(
    frozen_app: Path, tmp_path: Path
) -> None:
    # A browser or nvidia-smi started with the bundle's LD_LIBRARY_PATH would load our
    # libraries instead of its own. `code` is Python's console, bundled with the stdlib.
    show = "import os; print('LD=' + repr(os.environ.get('LD_LIBRARY_PATH')))\n"
    for original, expected in ((None, "None"), ("/opt/own/lib", "'/opt/own/lib'")):
        env = clean_env()
        env.pop("LD_LIBRARY_PATH", None)
        if original:
            env["LD_LIBRARY_PATH"] = original
        result = subprocess.run(
            [str(frozen_app / "localai"), RUN_MODULE_FLAG, "code", "-q"],
            input=show,
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )
        assert f"LD={expected}" in result.stdout, result.stdout + result.stderr


def test_the_built_command_line_downloads_a_model_and_answers(
    frozen_app: Path, tmp_path: Path, stories260k: Path
) -> None:
    # What a new user does: download from the Hub (here a fake one on 127.0.0.1), then ask.
    from tests.support.fake_hub import running_fake_hub

    data = ["--data-dir", str(tmp_path / "d")]
    with running_fake_hub() as hub:
        hub.add_repo("test/stories-GGUF", {"stories260K-F32.gguf": stories260k}, license="mit")
        pull = [*data, "--hub-endpoint", hub.url, "models", "pull", "test/stories-GGUF"]
        pulled = run_frozen(frozen_app, "localai", *pull, "--quant", "F32", cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    (model,) = json.loads(
        run_frozen(frozen_app, "localai", *data, "models", "list", "--json", cwd=tmp_path).stdout
    )
    assert model["file_size"] == stories260k.stat().st_size
    chat = ["chat", "--model", model["name"], "--seed", "1", "--max-tokens", "20", "Once upon"]
    answer = run_frozen(frozen_app, "localai", *data, *chat, cwd=tmp_path)
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip()
