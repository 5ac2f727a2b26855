<#
.SYNOPSIS
Build LocalAI Desktop for Windows: the one-folder app and an Inno Setup installer, in dist\.

.DESCRIPTION
Run from any folder in PowerShell (5.1 or 7):
    powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1 [-Release] [-LlamaBackend cpu|cuda|vulkan]

Needs: Python 3.10+ with `pip install -e ".[package]"` in -Python's environment (default
.venv\Scripts\python.exe); Inno Setup 6.3+ (iscc.exe on PATH or -Iscc); for -LlamaBackend, Visual
Studio Build Tools with C++ and CMake (and the CUDA toolkit or Vulkan SDK for those backends).
-LlamaBackend rebuilds llama-cpp-python portably (GGML_NATIVE=off, never -march=native);
-Release refuses a llama.cpp compiled for this machine's CPU. Signing happens when
WINDOWS_SIGN_CERT (a .pfx) and WINDOWS_SIGN_PASSWORD are set; see packaging\README.md.
Keep in step with build_linux.sh and build_macos.sh: same spec, same checks.
#>
param(
    [switch]$Release,
    [string]$Python = ".venv\Scripts\python.exe",
    [ValidateSet("", "cpu", "cuda", "vulkan")][string]$LlamaBackend = "",
    [string]$Iscc = "iscc.exe",
    [string]$TimestampUrl = "http://timestamp.digicert.com"
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")

function Invoke-Checked([string]$Program, [string[]]$Arguments) {
    # Native programs report failure through their exit code, which PowerShell 5 ignores.
    & $Program @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Program $($Arguments -join ' ') failed ($LASTEXITCODE)" }
}

$started = Get-Date
# find_spec, not import: a traceback on stderr would stop PowerShell 5 before our message.
& $Python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('PyInstaller') is None)"
if ($LASTEXITCODE -ne 0) { throw "PyInstaller is missing in $Python's environment: pip install -e "".[package]""" }
$version = (& $Python -c "import localai_desktop; print(localai_desktop.__version__)").Trim()

if ($LlamaBackend) {
    $backendArgs = @{ cpu = ""; cuda = "-DGGML_CUDA=on"; vulkan = "-DGGML_VULKAN=on" }[$LlamaBackend]
    $llamaVersion = (Select-String -Path pyproject.toml -Pattern '"llama-cpp-python==([0-9.]+)"').Matches[0].Groups[1].Value
    Write-Host "== llama-cpp-python $llamaVersion ($LlamaBackend, GGML_NATIVE=off)"
    $env:CMAKE_ARGS = "-DGGML_NATIVE=off $backendArgs $env:CMAKE_ARGS".Trim()
    # --no-cache-dir: pip would reuse a wheel it built earlier, whatever CMAKE_ARGS were then.
    Invoke-Checked $Python @("-m", "pip", "install", "--force-reinstall", "--no-deps", "--no-cache-dir",
        "--no-binary", "llama-cpp-python", "llama-cpp-python==$llamaVersion")
}

Write-Host "== llama.cpp build"
$infoArgs = @("packaging\llama_build_info.py")
if ($Release) { $infoArgs += "--release" }
Invoke-Checked $Python $infoArgs

Write-Host "== PyInstaller (one folder)"
Invoke-Checked $Python @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", "dist", "--workpath", "build\pyinstaller", "packaging\localai_desktop.spec")
$app = "dist\localai-desktop"
Copy-Item LICENSE "$app\LICENSE.txt"
Invoke-Checked "$app\localai.exe" @("--version")

function Invoke-Sign([string[]]$Files) {
    if (-not $env:WINDOWS_SIGN_CERT) { return }
    Invoke-Checked "signtool.exe" (@("sign", "/f", $env:WINDOWS_SIGN_CERT, "/p", $env:WINDOWS_SIGN_PASSWORD,
        "/fd", "SHA256", "/tr", $TimestampUrl, "/td", "SHA256") + $Files)
}
# Sign our executables before packing them, then the installer itself.
Invoke-Sign @("$app\localai-desktop.exe", "$app\localai.exe")

Write-Host "== installer (Inno Setup)"
Invoke-Checked $Iscc @("/Qp", "/DAppVersion=$version", "packaging\windows\localai_desktop.iss")
$installer = "dist\LocalAI-Desktop-$version-windows-x64-setup.exe"
Invoke-Sign @($installer)

Write-Host "== zip (portable)"
$zip = "dist\localai-desktop-$version-windows-x64.zip"
if (Test-Path $zip) { Remove-Item $zip }
Compress-Archive -Path $app -DestinationPath $zip

$seconds = [int]((Get-Date) - $started).TotalSeconds
$size = "{0:N0} MB" -f ((Get-ChildItem $app -Recurse | Measure-Object Length -Sum).Sum / 1MB)
Write-Host "== done in $seconds s"
Write-Host "app folder: $app ($size)"
Write-Host "installer:  $installer"
Write-Host "zip:        $zip"
