#!/usr/bin/env sh
# Add LocalAI Desktop to this user's application menu (tarball installs; the .deb does this itself).
# Run from the unpacked folder: ./install-desktop-entry.sh   Undo: ./install-desktop-entry.sh --remove
set -eu
here=$(cd "$(dirname "$0")" && pwd)
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/localai-desktop.desktop" "$icons/localai-desktop.svg"
    echo "Removed LocalAI Desktop from the application menu (the app folder and your data stay)."
    exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/share/localai-desktop.svg" "$icons/localai-desktop.svg"
# Exec needs the absolute path: a tarball can be unpacked anywhere.
sed "s|^Exec=.*|Exec=\"$here/localai-desktop\"|" "$here/share/localai-desktop.desktop" \
    > "$apps/localai-desktop.desktop"
echo "LocalAI Desktop is now in your application menu (it starts $here/localai-desktop)."
