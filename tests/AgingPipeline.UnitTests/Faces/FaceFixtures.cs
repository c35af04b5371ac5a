using System.Text.Json;
using AgingPipeline.Inference;

namespace AgingPipeline.UnitTests.Faces;

/// <summary>The shipped face detector and the fixtures <c>training/blazeface.py fixtures</c> wrote for it (torch
/// interpreter of the ONNX graphs + an independent numpy decoder) in <c>tests/fixtures/faces</c>.</summary>
internal static class FaceFixtures
{
    public const string DetectorVersion = "1";

    public static string DetectorDirectory => Path.Combine(RepoPaths.Root, "models", "face-detector", DetectorVersion);

    public static string Directory => Path.Combine(RepoPaths.Root, "tests", "fixtures", "faces");

    public static ModelManifest Manifest => ModelManifest.Parse(File.ReadAllText(Path.Combine(DetectorDirectory, "model.json")));

    public static JsonElement Expected
    {
        get
        {
            using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, "expected.json")));
            return document.RootElement.Clone();
        }
    }

    /// <summary>Every (image, network) pair of the fixtures.</summary>
    public static TheoryData<string, string> ImageNetworks
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var image in Expected.GetProperty("images").EnumerateArray())
            {
                foreach (var network in image.GetProperty("networks").EnumerateArray())
                {
                    data.Add(image.GetProperty("image").GetString()!, network.GetProperty("network").GetString()!);
                }
            }
            return data;
        }
    }

    /// <summary>Every fixture image.</summary>
    public static TheoryData<string> Images
    {
        get
        {
            var data = new TheoryData<string>();
            foreach (var image in Expected.GetProperty("images").EnumerateArray())
            {
                data.Add(image.GetProperty("image").GetString()!);
            }
            return data;
        }
    }

    public static JsonElement Image(string image) =>
        Expected.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("image").GetString() == image);

    public static JsonElement Network(string image, string network) =>
        Image(image).GetProperty("networks").EnumerateArray().Single(n => n.GetProperty("network").GetString() == network);

    public static ModelNetworkSpec Spec(string network) => Manifest.Networks!.Single(n => n.Name == network);

    public static float[] ReadFloats(string fileName)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Directory, fileName));
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, values.Length * 4);
        return values;
    }

    public static float[] Floats(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetSingle())];
}
