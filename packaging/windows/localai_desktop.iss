; Inno Setup 6 script for LocalAI Desktop. Built by packaging\build_windows.ps1, which passes
; /DAppVersion=...; paths are relative to this file. Installs per user by default (no admin
; prompt); the person may choose all users. Uninstalling keeps the user's data folder
; (%LOCALAPPDATA%\LocalAI Desktop): conversations and models are removed from inside the app
; (Settings > Delete all my data), never as a side effect of an uninstall.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "LocalAI Desktop"
#define AppFolder "..\..\dist\localai-desktop"

[Setup]
; Fixed forever: it is how Windows knows a new version replaces the old one.
AppId={{6B0E2C1D-4F47-4C7A-9C39-2D51A4F7E8B3}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=LocalAI Desktop developers
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\..\dist
OutputBaseFilename=LocalAI-Desktop-{#AppVersion}-windows-x64-setup
SetupIconFile=..\..\resources\icons\localai-desktop.ico
UninstallDisplayIcon={app}\localai-desktop.exe
LicenseFile=..\..\LICENSE
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; A running app holds its DLLs open; ask the person to close it rather than fail later.
CloseApplications=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#AppFolder}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; An update must not leave libraries of the previous version next to the new ones.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\localai-desktop.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\localai-desktop.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\localai-desktop.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
