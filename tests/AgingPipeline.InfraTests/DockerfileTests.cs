using System.Xml.Linq;
using AgingPipeline.InfraTests.Infrastructure;

namespace AgingPipeline.InfraTests;

/// <summary>The Dockerfiles cannot be built here (no Docker engine), so what can go wrong without a build is checked:
/// every path they take from the context exists and is not ignored, every project the published project needs is in
/// the context, images are pinned, and the GPU image has what the runner needs.</summary>
public sealed class DockerfileTests
{
    public static TheoryData<string> Dockerfiles() => new() { "functions/Dockerfile", "gpu-runner/Dockerfile" };

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Every_path_taken_from_the_context_exists_and_is_not_ignored(string path)
    {
        var dockerfile = Load(path);
        var allowed = AllowedTopLevelEntries(path + ".dockerignore");
        var copies = dockerfile.Copies.Where(c => c.FromContext).ToList();
        Assert.NotEmpty(copies);
        foreach (var copy in copies)
        {
            foreach (var source in copy.Sources)
            {
                var full = Path.Combine(RepoPaths.Root, source);
                Assert.True(File.Exists(full) || Directory.Exists(full), $"{path} line {copy.Line}: {source} does not exist.");
                var top = source.TrimEnd('/').Split('/')[0];
                Assert.True(allowed.Contains(top), $"{path} line {copy.Line}: {source} is excluded by {path}.dockerignore.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Every_project_the_published_project_needs_is_copied(string path)
    {
        var dockerfile = Load(path);
        var published = dockerfile.RunText.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .SkipWhile(t => t != "publish").Skip(1).First();
        Assert.EndsWith(".csproj", published, StringComparison.Ordinal);
        var copied = dockerfile.Copies.Where(c => c.FromContext).SelectMany(c => c.Sources).ToList();
        foreach (var needed in ProjectClosure(Path.Combine(RepoPaths.Root, published)).Append(Path.Combine(RepoPaths.Root, "Directory.Build.props")).Append(Path.Combine(RepoPaths.Root, "Directory.Packages.props")))
        {
            var relative = Path.GetRelativePath(RepoPaths.Root, needed).Replace('\\', '/');
            var directory = Path.GetDirectoryName(relative)!.Replace('\\', '/');
            Assert.True(
                copied.Any(source => source == relative || (source.EndsWith('/') && (directory + "/").StartsWith(source, StringComparison.Ordinal))),
                $"{path} publishes {published}, which needs {relative}, but no COPY brings it into the build.");
        }
    }

    [Theory]
    [MemberData(nameof(Dockerfiles))]
    public void Base_images_are_pinned(string path)
    {
        var dockerfile = Load(path);
        var defaults = dockerfile.Instructions.Where(i => i.Keyword == "ARG" && i.Arguments.Contains('=', StringComparison.Ordinal))
            .Select(i => i.Arguments.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        foreach (var from in dockerfile.Instructions.Where(i => i.Keyword == "FROM"))
        {
            var image = from.Arguments.Split(' ')[0];
            if (image.StartsWith("${", StringComparison.Ordinal))
            {
                image = defaults[image[2..^1]];
            }
            Assert.Contains(':', image);
            Assert.DoesNotContain(":latest", image, StringComparison.Ordinal);
            Assert.Matches(@":[0-9]", image);
        }
    }

    [Fact]
    public void Runner_image_runs_the_gpu_build_as_a_non_root_user_with_models_fonts_and_a_health_check()
    {
        var dockerfile = Load("gpu-runner/Dockerfile");
        var froms = dockerfile.Instructions.Where(i => i.Keyword == "FROM").ToList();
        Assert.True(froms.Count >= 2, "Multi-stage: an SDK stage and a runtime stage.");
        var defaults = string.Join('\n', dockerfile.Instructions.Where(i => i.Keyword == "ARG").Select(i => i.Arguments));
        Assert.Matches(@"nvidia/cuda:\d+\.\d+\.\d+-cudnn-runtime-ubuntu\d+\.\d+", defaults);

        Assert.Contains("-p:OrtFlavor=Gpu", dockerfile.RunText, StringComparison.Ordinal);
        Assert.Contains("fonts-dejavu-core", dockerfile.RunText, StringComparison.Ordinal);
        Assert.Contains(dockerfile.Copies, c => c.FromContext && c.Sources.Contains("models/"));

        var finalStage = dockerfile.Instructions.SkipWhile(i => i != froms[^1]).ToList();
        var user = Assert.Single(finalStage, i => i.Keyword == "USER");
        Assert.DoesNotMatch(@"^(root|0)(:|$)", user.Arguments);
        var health = Assert.Single(finalStage, i => i.Keyword == "HEALTHCHECK");
        Assert.Contains("/health", health.Arguments, StringComparison.Ordinal);
        Assert.Contains(finalStage, i => i.Keyword == "ENV" && i.Arguments.Contains("Inference__ModelRoot=", StringComparison.Ordinal));
    }

    [Fact]
    public void Functions_image_uses_the_custom_handler_base_image()
    {
        var dockerfile = Load("functions/Dockerfile");
        var defaults = string.Join('\n', dockerfile.Instructions.Where(i => i.Keyword == "ARG").Select(i => i.Arguments));
        Assert.Contains("mcr.microsoft.com/azure-functions/base:", defaults, StringComparison.Ordinal);
        Assert.DoesNotContain("azure-functions/dotnet", defaults, StringComparison.Ordinal);
        Assert.Contains(dockerfile.Instructions, i => i.Keyword == "ENV" && i.Arguments.Contains("FUNCTIONS_WORKER_RUNTIME=custom", StringComparison.Ordinal));
        Assert.Contains(dockerfile.Copies, c => c.FromContext && c.Sources.Contains("host.json"));
    }

    [Fact]
    public void The_cpu_build_never_restores_the_cuda_package()
    {
        var project = XDocument.Load(Path.Combine(RepoPaths.Root, "gpu-runner", "AgingPipeline.Runner", "AgingPipeline.Runner.csproj"));
        var gpu = Assert.Single(project.Descendants("PackageReference"), r => (string?)r.Attribute("Include") == "Microsoft.ML.OnnxRuntime.Gpu.Linux");
        Assert.Equal("'$(OrtFlavor)' == 'Gpu'", (string?)gpu.Parent!.Attribute("Condition"));
        Assert.Contains(project.Descendants("OrtFlavor"), p => p.Value == "Cpu" && ((string?)p.Attribute("Condition"))?.Contains("''", StringComparison.Ordinal) == true);

        var versions = XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Packages.props"));
        Assert.Contains(versions.Descendants("PackageVersion"), v => (string?)v.Attribute("Include") == "Microsoft.ML.OnnxRuntime.Gpu.Linux");

        // This test project references the runner (CPU flavour): no CUDA provider may have reached its output.
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "libonnxruntime_providers_cuda.so")));
        Assert.False(Directory.EnumerateFiles(AppContext.BaseDirectory, "libonnxruntime_providers_cuda.so", SearchOption.AllDirectories).Any());
    }

    private static Dockerfile Load(string path) => Dockerfile.Load(Path.Combine(RepoPaths.Root, path));

    /// <summary>Top-level entries an allow-list .dockerignore (<c>*</c>, then <c>!entry</c> lines) lets through.</summary>
    private static HashSet<string> AllowedTopLevelEntries(string ignoreFile)
    {
        var lines = File.ReadAllLines(Path.Combine(RepoPaths.Root, ignoreFile))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        Assert.Equal("*", lines[0]);
        return lines.Where(l => l.StartsWith('!')).Select(l => l[1..].TrimEnd('/').Split('/')[0]).ToHashSet(StringComparer.Ordinal);
    }

    private static HashSet<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }
            Assert.True(File.Exists(current), $"Project {current} does not exist.");
            foreach (var reference in XDocument.Load(current).Descendants("ProjectReference"))
            {
                var include = ((string?)reference.Attribute("Include"))!.Replace('\\', '/');
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(current)!, include)));
            }
        }
        return seen;
    }
}
