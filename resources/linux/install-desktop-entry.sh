#!/usr/bin/env sh
# Add LocalAI Desktop to this user's application menu (tarball installs; the .deb does this itself).
# Run from the unpacked folder: ./install-desktop-entry.sh   Undo: ./install-desktop-entry.sh --remove
# It copies the folder's share/ (the desktop entry, AppStream metadata and icons, laid out as in
# /usr/share) into ~/.local/share, with the entry pointing at this folder.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data="${XDG_DATA_HOME:-$HOME/.local/share}"
entry=applications/org.localai.desktop.desktop
metainfo=metainfo/org.localai.desktop.metainfo.xml
if [ "${1:-}" = "--remove" ]; then
    rm -f "$data/$entry" "$data/$metainfo" "$data"/icons/hicolor/*/apps/localai-desktop.png \
        "$data"/icons/hicolor/*/apps/localai-desktop.svg
    echo "Removed LocalAI Desktop from the application menu (the app folder and your data stay)."
    exit 0
fi
mkdir -p "$data/applications" "$data/metainfo"
cp "$here/share/$metainfo" "$data/$metainfo"
for icon in "$here"/share/icons/hicolor/*/apps/localai-desktop.*; do
    relative=${icon#"$here/share/"}
    mkdir -p "$data/$(dirname "$relative")"
    cp "$icon" "$data/$relative"
done
# Exec needs the absolute path: a tarball can be unpacked anywhere.
sed "s|^Exec=.*|Exec=\"$here/localai-desktop\"|" "$here/share/$entry" > "$data/$entry"
echo "LocalAI Desktop is now in your application menu (it starts $here/localai-desktop)."
