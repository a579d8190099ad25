#!/usr/bin/env bash
# Regenerates Sources/OTLP/*.pb.swift from scripts/otlp/proto with protoc (Debian's
# protobuf-compiler) and protoc-gen-swift built from the swift-protobuf version Package.swift
# pins. CI never runs this: the generated code is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v protoc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null; }
version=$(sed -n 's|.*swift-protobuf", exact: "\([0-9.]*\)".*|\1|p' Package.swift)
plugin_dir=.build-protoc-gen-swift
if [ ! -x "$plugin_dir/release/protoc-gen-swift" ]; then
    rm -rf "$plugin_dir/src"
    git clone -q --branch "$version" https://github.com/apple/swift-protobuf "$plugin_dir/src"
    swift build -c release --package-path "$plugin_dir/src" --scratch-path "$plugin_dir" --product protoc-gen-swift
fi
rm -f Sources/OTLP/*.pb.swift
protoc --plugin=protoc-gen-swift="$plugin_dir/release/protoc-gen-swift" \
    --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
    --swift_out=Sources/OTLP -I scripts/otlp/proto \
    $(cd scripts/otlp/proto && find . -name '*.proto' | sed 's|^\./||' | sort)
ls Sources/OTLP
