namespace AgingPipeline.InfraTests;

/// <summary>The small test models of <c>tests/fixtures/models</c>, copied into a runner's own model root.</summary>
internal static class FixtureModels
{
    /// <summary>Copies version 1 of the fixture model <paramref name="model"/> to
    /// <c>{modelRoot}/{model}/1/</c>.</summary>
    public static void CopyVersion1(string model, string modelRoot)
    {
        var fixture = Path.Combine(RepoPaths.Root, "tests", "fixtures", "models", model, "1");
        var target = Path.Combine(modelRoot, model, "1");
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(fixture))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }
    }
}
