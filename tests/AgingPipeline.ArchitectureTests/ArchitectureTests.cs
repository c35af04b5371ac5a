using System.Reflection;
using System.Runtime.InteropServices;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using AgingPipeline.Imaging;
using AgingPipeline.Inference;
using NetArchTest.Rules;

namespace AgingPipeline.ArchitectureTests;

/// <summary>Which assembly may see which (issue 14). Each rule is checked twice: no type of the assembly uses a
/// forbidden type (NetArchTest, from the IL), and no assembly it references, directly or through others, is a
/// forbidden one.</summary>
public sealed class ArchitectureTests
{
    private static readonly Assembly Contracts = typeof(PipelineErrorCode).Assembly;
    private static readonly Assembly ImageFormats = typeof(InputCheck).Assembly;
    private static readonly Assembly Imaging = typeof(VipsRuntime).Assembly;
    private static readonly Assembly Inference = typeof(InferenceOptions).Assembly;
    private static readonly Assembly Functions = Assembly.Load("AgingPipeline.Functions");

    private static readonly string[] OurAssemblies =
    [
        "AgingPipeline.ImageFormats", "AgingPipeline.Imaging", "AgingPipeline.Inference", "AgingPipeline.Processing", "AgingPipeline.Storage",
        "AgingPipeline.ServiceDefaults", "AgingPipeline.Functions", "AgingPipeline.Runner", "AgingPipeline.Cli",
        "AgingPipeline.EventPump", "AgingPipeline.Testing",
    ];

    [Fact]
    public void Contracts_depends_on_no_other_AgingPipeline_assembly()
    {
        AssertNoTypeDependsOn(Contracts, OurAssemblies);
        Assert.DoesNotContain(ReferencedAssemblies(Contracts), name => name.StartsWith("AgingPipeline.", StringComparison.Ordinal));
    }

    [Fact]
    public void Imaging_never_sees_Azure_types()
    {
        AssertNoTypeDependsOn(Imaging, "Azure");
        Assert.DoesNotContain(ReferencedAssemblies(Imaging), IsAzure);
    }

    [Fact]
    public void Inference_never_sees_Azure_types()
    {
        AssertNoTypeDependsOn(Inference, "Azure");
        Assert.DoesNotContain(ReferencedAssemblies(Inference), IsAzure);
    }

    [Fact]
    public void The_function_app_never_sees_ONNX_Runtime()
    {
        AssertNoTypeDependsOn(Functions, "Microsoft.ML.OnnxRuntime", "AgingPipeline.Inference", "AgingPipeline.Processing");
        Assert.DoesNotContain(ReferencedAssemblies(Functions), name => name.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal));
    }

    [Fact]
    public void The_function_app_uses_no_NetVips_type_itself()
    {
        AssertNoTypeDependsOn(Functions, "NetVips");
    }

    /// <summary>The function app refuses uploads with the managed door (<c>AgingPipeline.ImageFormats.InputCheck</c>) and
    /// never references Imaging, so neither NetVips nor libvips is in its reference graph or its output folder.</summary>
    [Fact]
    public void The_function_app_never_sees_NetVips()
    {
        AssertNoTypeDependsOn(Functions, "NetVips", "AgingPipeline.Imaging");
        var referenced = ReferencedAssemblies(Functions);
        Assert.DoesNotContain("NetVips", referenced);
        Assert.DoesNotContain("AgingPipeline.Imaging", referenced);
        Assert.Contains("AgingPipeline.ImageFormats", referenced);
    }

    /// <summary>The image-format unit is pure managed code: Contracts and the .NET runtime, nothing else of ours, no
    /// package (so that every host, the function app first, may use it without native dependencies).</summary>
    [Fact]
    public void ImageFormats_depends_on_Contracts_only_and_on_no_package()
    {
        AssertNoTypeDependsOn(ImageFormats, [.. OurAssemblies.Where(name => name != "AgingPipeline.ImageFormats"), "NetVips", "Azure", "Microsoft.ML", "Polly"]);
        var runtimeDirectory = Path.GetFullPath(RuntimeEnvironment.GetRuntimeDirectory());
        var outside = new List<string>();
        foreach (var name in ReferencedAssemblies(ImageFormats))
        {
            if (name == "AgingPipeline.Contracts")
            {
                continue;
            }
            var location = Assembly.Load(name).Location;
            if (!Path.GetFullPath(location).StartsWith(runtimeDirectory, StringComparison.Ordinal))
            {
                outside.Add($"{name} ({location})");
            }
        }
        Assert.True(outside.Count == 0, "ImageFormats references assemblies outside the .NET runtime: " + string.Join(", ", outside));
    }

    private static bool IsAzure(string assemblyName) => assemblyName.StartsWith("Azure.", StringComparison.Ordinal);

    private static void AssertNoTypeDependsOn(Assembly assembly, params string[] dependencies)
    {
        var result = Types.InAssembly(assembly).ShouldNot().HaveDependencyOnAny(dependencies).GetResult();
        Assert.True(result.IsSuccessful,
            $"{assembly.GetName().Name} types that use {string.Join(", ", dependencies)}: " +
            string.Join(", ", result.FailingTypeNames ?? []));
    }

    /// <summary>The names of every assembly <paramref name="root"/> references, directly or through the assemblies it
    /// references (a name is counted even when that assembly cannot be loaded here).</summary>
    private static SortedSet<string> ReferencedAssemblies(Assembly root)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>([root]);
        while (pending.TryDequeue(out var assembly))
        {
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                if (reference.Name is not { } name || !seen.Add(name))
                {
                    continue;
                }
                try
                {
                    pending.Enqueue(Assembly.Load(reference));
                }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    // Counted by name; what it references in turn is not followed.
                }
            }
        }
        return seen;
    }
}
