using System.Security.Cryptography;
using System.Text;
using AgingPipeline.Storage;

namespace AgingPipeline.InfraTests;

/// <summary>What <see cref="ModelBlobSync"/> reads of a manifest: the model files of a version, each with the SHA-256
/// it is verified against, and the identity the adopt-if-same check compares, for both manifest shapes (a top-level
/// <c>file</c> + <c>sha256</c>, or a face detector's <c>networks</c>).</summary>
public sealed class ModelSyncManifestTests
{
    private const string FullHash = "6ded765dd55f745e03c6d379b7d26dc776fa533d6b836306446227bc57495ca0";
    private const string ShortHash = "1d463b18075a55f6a9b36563e2cfa25457268d4c8f5f572007a4186d3029972f";

    [Fact]
    public void Every_shipped_model_names_files_the_sync_can_verify_and_they_match_their_hashes()
    {
        var manifests = Directory.GetFiles(Path.Combine(RepoPaths.Root, "models"), "model.json", SearchOption.AllDirectories);
        Assert.Contains(manifests, m => m.Contains("face-detector", StringComparison.Ordinal));

        foreach (var path in manifests)
        {
            Assert.True(ModelBlobSync.TryReadManifest(File.ReadAllBytes(path), out var manifest, out var problem), $"{path}: {problem}");
            Assert.NotEmpty(manifest.Files);
            foreach (var file in manifest.Files)
            {
                var actual = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(path)!, file.Name))));
                Assert.Equal(file.Sha256.ToLowerInvariant(), actual);
            }
        }
    }

    [Fact]
    public void A_face_detector_manifest_names_every_network_file_and_is_identified_by_their_hashes_in_order()
    {
        var path = Path.Combine(RepoPaths.Root, "models", "face-detector", "1", "model.json");

        Assert.True(ModelBlobSync.TryReadManifest(File.ReadAllBytes(path), out var manifest, out _));

        Assert.Equal(
            [new SyncManifestFile("face_detection_full_range.onnx", FullHash), new SyncManifestFile("face_detection_short_range.onnx", ShortHash)],
            manifest.Files);
        Assert.Equal($"{FullHash},{ShortHash}", manifest.Identity);
    }

    [Fact]
    public void A_single_file_manifest_is_read_as_before_with_model_onnx_by_default_and_its_sha256_as_identity()
    {
        var hash = new string('A', 64);

        Assert.True(ModelBlobSync.TryReadManifest(Json($$"""{ "sha256": "{{hash}}" }"""), out var byDefault, out _));
        Assert.True(ModelBlobSync.TryReadManifest(Json($$"""{ "file": "ager.onnx", "sha256": "{{hash}}", "networks": null }"""), out var named, out _));

        Assert.Equal([new SyncManifestFile("model.onnx", hash)], byDefault.Files);
        Assert.Equal(hash.ToLowerInvariant(), byDefault.Identity);
        Assert.Equal([new SyncManifestFile("ager.onnx", hash)], named.Files);
    }

    [Theory]
    [InlineData("""{ "file": "model.onnx" }""", "model.json has no sha256 of 64 hexadecimal digits")]
    [InlineData("""{ "file": "model.json", "sha256": "H" }""", "model.json names an invalid model file.")]
    [InlineData("""{ "networks": [] }""", "networks that is not a non-empty array")]
    [InlineData("""{ "networks": { "file": "a.onnx" } }""", "networks that is not a non-empty array")]
    [InlineData("""{ "sha256": "H", "networks": [ { "file": "a.onnx", "sha256": "H" } ] }""", "both a top-level file or sha256 and networks")]
    [InlineData("""{ "networks": [ { "file": "a.onnx", "sha256": "H" }, { "file": "b.onnx" } ] }""", "networks[1] has no sha256 of 64 hexadecimal digits")]
    [InlineData("""{ "networks": [ { "file": "a.onnx", "sha256": "H" }, { "file": "b.onnx", "sha256": "abc" } ] }""", "networks[1] has no sha256")]
    [InlineData("""{ "networks": [ { "sha256": "H" } ] }""", "networks[0] names no valid model file.")]
    [InlineData("""{ "networks": [ { "file": "../a.onnx", "sha256": "H" } ] }""", "networks[0] names no valid model file.")]
    [InlineData("""{ "networks": [ { "file": "model.json", "sha256": "H" } ] }""", "networks[0] names no valid model file.")]
    [InlineData("""{ "networks": [ { "file": "a.onnx", "sha256": "H" }, { "file": "a.onnx", "sha256": "H" } ] }""", "networks[1] names a.onnx, which an earlier network names too.")]
    [InlineData("""{ "networks": [ "a.onnx" ] }""", "networks[0] is not a JSON object.")]
    public void A_manifest_whose_files_cannot_all_be_verified_is_refused_with_the_reason(string json, string expected)
    {
        Assert.False(ModelBlobSync.TryReadManifest(Json(json.Replace("\"H\"", $"\"{FullHash}\"", StringComparison.Ordinal)), out var manifest, out var problem));

        Assert.Null(manifest);
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);
}
