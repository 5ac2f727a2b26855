#!/usr/bin/env bash
# Build LocalAI Desktop for Linux: the one-folder app, a .tar.gz and a .deb, all in dist/.
#
#   packaging/build_linux.sh [--release] [--no-deb] [--fast]
#
# PYTHON picks the environment to freeze (default .venv/bin/python); it needs
# `pip install -e '.[package]'`. --release refuses a llama.cpp compiled for this machine's CPU
# (run packaging/install_llama_cpp.sh first). --fast compresses the archives quickly but
# larger (for CI and trials). LOCALAI_BUNDLE_FINETUNE=1 bundles fine-tuning
# (torch, about 1 GB more). Build on the oldest distribution you support: the app runs on
# systems with the same or a newer glibc. Prints what it made and how long each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
release=0
make_deb=1
gzip_level=9
# zstd: a .deb ~20% larger than xz, made 15x faster on 2 cores; read by dpkg 1.21.18 and
# later (Debian 12, Ubuntu 22.04), which every system with our minimum glibc has.
deb_compression=(-Zzstd -z12)
for arg in "$@"; do
    case "$arg" in
        --release) release=1 ;;
        --no-deb) make_deb=0 ;;
        --fast) gzip_level=1 deb_compression=(-Zgzip -z1) ;;
        *) echo "usage: $0 [--release] [--no-deb] [--fast]" >&2; exit 2 ;;
    esac
done

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "PyInstaller is not installed in $PYTHON's environment: pip install -e '.[package]'" >&2
    exit 1
fi
version=$("$PYTHON" -c "import localai_desktop; print(localai_desktop.__version__)")
arch=$(uname -m)
deb_arch=$(dpkg --print-architecture 2>/dev/null || echo "$arch")
app=dist/localai-desktop
started=$SECONDS

echo "== llama.cpp build"
if [ "$release" = 1 ]; then
    "$PYTHON" packaging/llama_build_info.py --release
else
    "$PYTHON" packaging/llama_build_info.py
fi

echo "== PyInstaller (one folder)"
step=$SECONDS
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/localai_desktop.spec
freeze_s=$((SECONDS - step))
# Desktop integration from resources/ travels inside the folder as share/, laid out as in
# /usr/share: the .deb installs it there, the tarball's install-desktop-entry.sh in ~/.local.
share="$app/share"
mkdir -p "$share/applications" "$share/metainfo" "$share/icons/hicolor/scalable/apps"
cp resources/linux/org.localai.desktop.desktop "$share/applications/"
cp resources/linux/org.localai.desktop.metainfo.xml "$share/metainfo/"
cp -R resources/icons/hicolor/. "$share/icons/hicolor/"
cp resources/icons/localai-desktop.svg "$share/icons/hicolor/scalable/apps/"
cp resources/linux/install-desktop-entry.sh "$app/"
cp LICENSE "$app/LICENSE.txt"
"$app/localai" --version >/dev/null  # a bundle that cannot start is not worth packing

echo "== tarball"
tarball="dist/localai-desktop-$version-linux-$arch.tar.gz"
step=$SECONDS
tar -C dist -cf - localai-desktop | gzip "-$gzip_level" > "$tarball"
tar_s=$((SECONDS - step))

deb=""
if [ "$make_deb" = 1 ] && command -v dpkg-deb >/dev/null; then
    echo "== .deb"
    root=build/deb-root
    rm -rf "$root"
    mkdir -p "$root/DEBIAN" "$root/opt" "$root/usr/bin"
    cp -a "$app" "$root/opt/localai-desktop"
    # The package installs the entry, metadata and icons itself, into /usr/share.
    mv "$root/opt/localai-desktop/share" "$root/usr/share"
    rm "$root/opt/localai-desktop/install-desktop-entry.sh"
    ln -s /opt/localai-desktop/localai-desktop "$root/usr/bin/localai-desktop"
    ln -s /opt/localai-desktop/localai "$root/usr/bin/localai"
    # The oldest glibc the bundle can run on: the newest GLIBC_ symbol version it uses.
    # (objdump fails on the few files that are not ELF; that is fine.)
    glibc=$( { find "$app" -type f -name "*.so*" -exec objdump -T {} + 2>/dev/null || true; } \
        | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
    size_kb=$(du -sk "$root/opt" | cut -f1)
    # Qt's X11/Wayland plugins need these system libraries; everything else is bundled.
    cat > "$root/DEBIAN/control" <<CONTROL
Package: localai-desktop
Version: $version
Architecture: $deb_arch
Maintainer: LocalAI Desktop developers <packaging@localai-desktop.invalid>
Installed-Size: $size_kb
Depends: libc6 (>= ${glibc:-2.31}), libgl1, libegl1, libfontconfig1, libxcb1, libxcb-icccm4, libxcb-keysyms1, libxcb-cursor0, libxkbcommon-x11-0
Recommends: libwayland-client0, libwayland-cursor0, libwayland-egl1
Section: utils
Priority: optional
Description: Private, offline chat with open-source language models
 LocalAI Desktop runs open-source language models (GGUF files, through llama.cpp)
 entirely on this computer: nothing you type leaves it. Includes the localai
 command line.
CONTROL
    deb="dist/localai-desktop_${version}_${deb_arch}.deb"
    step=$SECONDS
    dpkg-deb --root-owner-group "${deb_compression[@]}" --build "$root" "$deb" >/dev/null
    deb_s=$((SECONDS - step))
elif [ "$make_deb" = 1 ]; then
    echo "dpkg-deb not found: no .deb built (apt-get install dpkg on Debian/Ubuntu)" >&2
fi

echo "== done in $((SECONDS - started)) s (PyInstaller ${freeze_s} s, tarball ${tar_s} s, .deb ${deb_s:-0} s)"
echo "app folder: $app ($(du -sh "$app" | cut -f1))"
echo "tarball:    $tarball ($(du -h "$tarball" | cut -f1))"
[ -n "$deb" ] && echo "deb:        $deb ($(du -h "$deb" | cut -f1))"
exit 0
