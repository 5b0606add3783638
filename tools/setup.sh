#!/usr/bin/env bash
# tools/setup.sh [--fuzz] — installs the Debian 12 packages circumplex builds and runs with, and only
# those that are missing (a few dpkg queries when everything is there). Used by run.sh
# and test.sh; safe to run by hand. Nothing is fetched from anywhere but Debian's archive.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config ccache   # toolchain
  nlohmann-json3-dev doctest-dev                         # runtime JSON, tests
  libtorch-dev                                           # the β-VAE (LibTorch 1.13, CPU)
  python3-torch                                          # bench --peer: the same decoder in Python PyTorch
  libgloo-dev                                            # data-parallel training: Gloo's headers for c10d
  libopencv-dev opencv-data                              # images, video, face cascades (tools)
  libjpeg62-turbo-dev                                    # test_photo writes a CMYK JPEG
  libvulkan-dev glslc mesa-vulkan-drivers                # the viewer: Vulkan (lavapipe on CPUs), shaders
  libglfw3-dev libimgui-dev fonts-dejavu-core            # the viewer: window, gamepad, Dear ImGui 1.86, UI font
  vulkan-validationlayers xvfb xdotool                   # the viewer's tests: validation, a real window
  liblo-dev                                              # the plugin's OSC output
  python3-liblo                                          # test_plugin_vmc_python: a second OSC implementation
  python3 mono-mcs mono-runtime                          # the plugin's Python and C# bindings' tests
  libcpp-httplib-dev libsqlite3-dev                      # study serve: HTTP server, votes database
  libjs-three                                            # study serve: three.js for the 3D rating page
  chromium                                               # the study's browser test (headless, driven by puppeteer-core)
)
# The browser test's driver comes from npm with the machine's Node.js (Debian's nodejs + npm
# only where no Node.js is installed: a Node that ships its own npm conflicts with Debian's).
command -v npm >/dev/null || packages+=(nodejs npm)

# tools/test.sh --fuzz: clang with libFuzzer and its sanitizer runtimes.
[ "${1:-}" = "--fuzz" ] && packages+=(clang-14)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "circumplex setup: installing missing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "circumplex setup: need root (or sudo) to apt-get install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# tests/browser: puppeteer-core, exactly as its package-lock.json pins it (no browser download);
# again only when the lock file changed since the last install.
browser=tests/browser
lock=$(sha256sum "$browser/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$browser/node_modules/.circumplex-lock" 2>/dev/null)" != "$lock" ]; then
  echo "circumplex setup: npm ci in $browser"
  (cd "$browser" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock" > "$browser/node_modules/.circumplex-lock"
fi
