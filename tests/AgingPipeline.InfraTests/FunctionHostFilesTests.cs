using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AgingPipeline.Contracts;
using AgingPipeline.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgingPipeline.InfraTests;

/// <summary>host.json and every functions/*/function.json parse and agree with the handler and the contracts: the
/// routes the host proxies exist in the handler, the trigger endpoints exist, the containers and queues are the ones of
/// <see cref="BlobNames"/>, and nothing writes into uploads (which would re-trigger OnImageUploaded forever).</summary>
public sealed partial class FunctionHostFilesTests(FunctionHandlerRoutes handler) : IClassFixture<FunctionHandlerRoutes>
{
    private static readonly string s_functionsFolder = Path.Combine(RepoPaths.Root, "functions");

    public static TheoryData<string> Functions()
    {
        var data = new TheoryData<string>();
        foreach (var name in FunctionNames())
        {
            data.Add(name);
        }
        return data;
    }

    [Fact]
    public void Host_json_runs_the_handler_as_a_custom_handler()
    {
        var host = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "host.json")))!;
        Assert.Equal("2.0", host["version"]!.GetValue<string>());
        var assemblyName = XDocument.Load(Path.Combine(s_functionsFolder, "AgingPipeline.Functions", "AgingPipeline.Functions.csproj"))
            .Descendants("AssemblyName").Single().Value;
        Assert.Equal(assemblyName, host["customHandler"]!["description"]!["defaultExecutablePath"]!.GetValue<string>());
        Assert.True(host["customHandler"]!["enableProxyingHttpRequest"]!.GetValue<bool>());
        Assert.Equal("Microsoft.Azure.Functions.ExtensionBundle", host["extensionBundle"]!["id"]!.GetValue<string>());
        // Flex Consumption requires bundle 4.x for non-.NET apps; it also brings the Event Grid trigger of OnImageUploaded.
        Assert.StartsWith("[4.", host["extensionBundle"]!["version"]!.GetValue<string>(), StringComparison.Ordinal);
        // Routes in function.json carry their own "api/" prefix.
        Assert.Equal(string.Empty, host["extensions"]!["http"]!["routePrefix"]!.GetValue<string>());
    }

    [Fact]
    public void Host_json_queue_settings_agree_with_the_pipeline()
    {
        var queues = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "host.json")))!["extensions"]!["queues"]!;
        // StorageClients writes base64 (QueueMessageEncoding.Base64): the queue trigger must decode the same way.
        Assert.Equal("base64", queues["messageEncoding"]!.GetValue<string>());
        Assert.Equal(new StorageOptions().MaxDequeueCount, queues["maxDequeueCount"]!.GetValue<int>());
    }

    [Fact]
    public void Every_function_folder_has_a_function_json()
    {
        var folders = Directory.GetDirectories(s_functionsFolder)
            .Select(Path.GetFileName)
            .Where(name => name is not null && !name.StartsWith("AgingPipeline.", StringComparison.Ordinal) && name != "bin" && name != "obj")
            .ToList();
        Assert.NotEmpty(folders);
        Assert.All(folders, name => Assert.True(File.Exists(Path.Combine(s_functionsFolder, name!, "function.json")), $"functions/{name} has no function.json."));
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public void Function_json_has_exactly_one_trigger_and_well_formed_bindings(string function)
    {
        var bindings = Bindings(function);
        Assert.NotEmpty(bindings);
        Assert.Single(bindings, b => b["type"]!.GetValue<string>().EndsWith("Trigger", StringComparison.Ordinal));
        Assert.All(bindings, b =>
        {
            Assert.False(string.IsNullOrWhiteSpace(b["name"]?.GetValue<string>()));
            Assert.Contains(b["direction"]!.GetValue<string>(), new[] { "in", "out", "inout" });
        });
        Assert.Equal(bindings.Count, bindings.Select(b => b["name"]!.GetValue<string>()).Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public void Storage_bindings_name_the_containers_and_queues_of_the_contracts_and_never_write_into_uploads(string function)
    {
        var containers = new[] { BlobNames.UploadsContainer, BlobNames.AgedContainer, BlobNames.JobsContainer, BlobNames.ModelsContainer };
        var queues = new[] { BlobNames.JobsQueue, BlobNames.PoisonQueue };
        foreach (var binding in Bindings(function))
        {
            var type = binding["type"]!.GetValue<string>();
            if (type is "blobTrigger" or "blob")
            {
                var container = binding["path"]!.GetValue<string>().Split('/')[0];
                Assert.Contains(container, containers);
                if (binding["direction"]!.GetValue<string>() != "in")
                {
                    Assert.NotEqual(BlobNames.UploadsContainer, container);
                }
            }
            if (type is "queueTrigger" or "queue")
            {
                Assert.Contains(binding["queueName"]!.GetValue<string>(), queues);
            }
            // No binding names its own connection: everything uses AzureWebJobsStorage, the one identity-based
            // account of infra/ (AgingPipeline.Storage falls back to it too).
            Assert.Null(binding["connection"]);
        }
    }

    [Fact]
    public void OnImageUploaded_is_the_event_grid_trigger_that_the_event_subscription_targets_and_has_no_blob_binding()
    {
        // The event, not the blob: no blob trigger or blob input (either would make the host download the upload).
        var bindings = Bindings("OnImageUploaded");
        var trigger = Assert.Single(bindings);
        Assert.Equal("eventGridTrigger", trigger["type"]!.GetValue<string>());
        Assert.Equal("in", trigger["direction"]!.GetValue<string>());
        Assert.Equal(AgingPipeline.Functions.Apis.TriggersApi.UploadBindingName, trigger["name"]!.GetValue<string>());
        Assert.Equal(new AgingPipeline.EventPump.EventPumpOptions().BindingName, trigger["name"]!.GetValue<string>());
        Assert.Null(trigger["dataType"]);
        var eventGrid = File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "modules", "event-grid.bicep"));
        Assert.Contains("param functionName string = 'OnImageUploaded'", eventGrid, StringComparison.Ordinal);
        Assert.Contains("var uploadsContainer = 'uploads'", eventGrid, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public void The_handler_serves_what_the_host_sends(string function)
    {
        var bindings = Bindings(function);
        var trigger = bindings.Single(b => b["type"]!.GetValue<string>().EndsWith("Trigger", StringComparison.Ordinal));
        if (trigger["type"]!.GetValue<string>() == "httpTrigger")
        {
            // Proxied HTTP: the request keeps its route; the handler names its endpoint after the function.
            var route = trigger["route"]!.GetValue<string>();
            var endpoint = handler.Endpoints.FirstOrDefault(e => e.Name == function);
            Assert.True(endpoint is not null, $"The handler has no endpoint named {function}; it has {string.Join(", ", handler.Endpoints.Select(e => e.Name))}.");
            Assert.Equal(Normalize(WithoutOptionalTail(route)), Normalize(endpoint.Pattern));
            foreach (var method in trigger["methods"]!.AsArray().Select(m => m!.GetValue<string>().ToUpperInvariant()))
            {
                Assert.Contains(method, endpoint.Methods);
            }
        }
        else
        {
            // Every other trigger: the host POSTs /{FunctionName}.
            Assert.Contains(handler.Endpoints, e => Normalize(e.Pattern) == function && e.Methods.Contains("POST"));
        }
    }

    private static IEnumerable<string> FunctionNames() =>
        Directory.GetFiles(s_functionsFolder, "function.json", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(f => Path.GetFileName(Path.GetDirectoryName(f))!)
            .Order(StringComparer.Ordinal);

    private static List<JsonNode> Bindings(string function)
    {
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(s_functionsFolder, function, "function.json")))!;
        return json["bindings"]!.AsArray().Select(b => b!).ToList();
    }

    /// <summary>A route whose last segment is an optional parameter also matches without it; the handler maps that form.</summary>
    private static string WithoutOptionalTail(string route) => OptionalTail().Replace(route, string.Empty);

    /// <summary>Leading slash, parameter names and constraints do not matter to the comparison.</summary>
    private static string Normalize(string pattern) => Parameter().Replace(pattern.Trim('/'), "{}");

    [GeneratedRegex(@"/?\{[^}]+\?\}$")]
    private static partial Regex OptionalTail();

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex Parameter();
}

/// <summary>One endpoint of the function app: route pattern, HTTP methods, endpoint name.</summary>
public sealed record HandlerEndpoint(string Pattern, IReadOnlyList<string> Methods, string? Name);

/// <summary>Builds the function app in-process (no storage is contacted) and lists its endpoints.</summary>
public sealed class FunctionHandlerRoutes : IDisposable
{
    private readonly WebApplicationFactory<AgingPipeline.Functions.FunctionAppOptions> _factory = new Factory();

    public FunctionHandlerRoutes()
    {
        Endpoints = _factory.Services.GetServices<EndpointDataSource>()
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .Select(e => new HandlerEndpoint(
                e.RoutePattern.RawText ?? string.Empty,
                e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.ToList() ?? [],
                e.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName))
            .ToList();
    }

    public IReadOnlyList<HandlerEndpoint> Endpoints { get; }

    public void Dispose() => _factory.Dispose();

    private sealed class Factory : WebApplicationFactory<AgingPipeline.Functions.FunctionAppOptions>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Development");
            builder.ConfigureAppConfiguration((_, configuration) => configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["FunctionApp:EnsureStorageOnStart"] = "false",
            }));
        }
    }
}
