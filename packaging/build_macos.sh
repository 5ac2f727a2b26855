#!/usr/bin/env bash
# Build LocalAI Desktop for macOS: "dist/LocalAI Desktop.app" and a .dmg, in dist/.
#
#   packaging/build_macos.sh [--release]
#
# Build on the oldest macOS you support, once per architecture (arm64 on Apple Silicon,
# x86_64 on Intel); Metal is on by default in llama.cpp builds for macOS. PYTHON picks the
# environment (default .venv/bin/python; it needs `pip install -e '.[package]'`).
# --release refuses a llama.cpp compiled for this machine's CPU (packaging/install_llama_cpp.sh
# metal rebuilds it portably). Signing and notarization (see packaging/README.md) happen when
# these are set:
#   MACOS_SIGN_IDENTITY   "Developer ID Application: Your Name (TEAMID)" in the keychain
#   MACOS_NOTARY_PROFILE  a profile saved with `xcrun notarytool store-credentials`
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
release=0
case "${1:-}" in
    --release) release=1 ;;
    "") ;;
    *) echo "usage: $0 [--release]" >&2; exit 2 ;;
esac
if [ "$(uname -s)" != Darwin ]; then
    echo "build_macos.sh runs on macOS (hdiutil, codesign); on Linux use build_linux.sh" >&2
    exit 1
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "PyInstaller is not installed in $PYTHON's environment: pip install -e '.[package]'" >&2
    exit 1
fi
version=$("$PYTHON" -c "import localai_desktop; print(localai_desktop.__version__)")
arch=$(uname -m)
app="dist/LocalAI Desktop.app"
started=$SECONDS

echo "== llama.cpp build"
if [ "$release" = 1 ]; then
    "$PYTHON" packaging/llama_build_info.py --release
else
    "$PYTHON" packaging/llama_build_info.py
fi

echo "== PyInstaller (.app)"
# The spec signs every binary and the bundle with the hardened runtime when
# MACOS_SIGN_IDENTITY is set (notarization requires both).
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/localai_desktop.spec
"$app/Contents/MacOS/localai" --version >/dev/null

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    codesign --verify --deep --strict --verbose=2 "$app"
fi

echo "== .dmg"
dmg="dist/LocalAI-Desktop-$version-macos-$arch.dmg"
staging=build/dmg
rm -rf "$staging" "$dmg"
mkdir -p "$staging"
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"  # drag the app onto this to install
hdiutil create -volname "LocalAI Desktop" -srcfolder "$staging" -ov -format UDZO "$dmg"

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    codesign --sign "$MACOS_SIGN_IDENTITY" --timestamp "$dmg"
fi
if [ -n "${MACOS_NOTARY_PROFILE:-}" ]; then
    echo "== notarization (a few minutes)"
    xcrun notarytool submit "$dmg" --keychain-profile "$MACOS_NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
fi

echo "== done in $((SECONDS - started)) s"
echo "app: $app ($(du -sh "$app" | cut -f1))"
echo "dmg: $dmg ($(du -h "$dmg" | cut -f1))"
