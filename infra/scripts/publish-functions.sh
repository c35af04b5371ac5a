#!/bin/sh
# Publishes the function app as a deployable Functions package (azd `prepackage` hook of the functions service):
# the handler self-contained for linux-x64 (Flex Consumption's custom-handler stack ships no .NET runtime), host.json
# and every functions/*/function.json, into artifacts/azd/functions, which azure.yaml names as the service's dist.
set -eu

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/artifacts/azd/functions"

rm -rf "$out"
dotnet publish "$root/functions/AgingPipeline.Functions/AgingPipeline.Functions.csproj" \
  --configuration Release --runtime linux-x64 --self-contained true \
  --output "$out" --nologo

# What the Functions host needs at the root of the package.
test -f "$out/host.json" || { echo "publish-functions: host.json is missing from $out" >&2; exit 1; }
test -x "$out/AgingPipeline.Functions" || { echo "publish-functions: the handler executable is missing or not executable" >&2; exit 1; }
count=0
for definition in "$root"/functions/*/function.json; do
  name="$(basename "$(dirname "$definition")")"
  test -f "$out/$name/function.json" || { echo "publish-functions: $name/function.json is missing from $out" >&2; exit 1; }
  count=$((count + 1))
done
echo "publish-functions: $count functions, handler and host.json in $out"
