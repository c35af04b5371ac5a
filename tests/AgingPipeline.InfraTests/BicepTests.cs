using System.Text.Json.Nodes;
using AgingPipeline.Contracts;
using AgingPipeline.InfraTests.Infrastructure;

namespace AgingPipeline.InfraTests;

/// <summary>infra/ compiles and lints with zero diagnostics, and the compiled template says what docs/deploy.md
/// promises (no shared keys, the uploads filter, scale from zero on the job queue with a managed identity, …).</summary>
public sealed class BicepTests(CompiledInfra infra) : IClassFixture<CompiledInfra>
{
    public static TheoryData<string> BicepFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Bicep.InfraFolder, "*.bicep", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}local{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(Bicep.InfraFolder, file));
        }
        return data;
    }

    [Fact]
    public void Build_of_main_succeeds_without_a_single_diagnostic()
    {
        Assert.True(infra.Build.ExitCode == 0, infra.Build.ToString());
        Assert.Empty(infra.Build.Diagnostics);
        Assert.Equal(string.Empty, infra.Build.StandardError.Trim());
    }

    [Theory]
    [MemberData(nameof(BicepFiles))]
    public async Task Lint_reports_nothing(string file)
    {
        var result = await Bicep.RunAsync(null, "lint", file);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Empty(result.Diagnostics);
        Assert.Equal(string.Empty, result.StandardError.Trim());
    }

    [Fact]
    public void Parameters_file_compiles_and_lints_with_the_azd_environment()
    {
        Assert.True(infra.Parameters.ExitCode == 0, infra.Parameters.ToString());
        Assert.Empty(infra.Parameters.Diagnostics);
        Assert.True(infra.ParametersLint.ExitCode == 0, infra.ParametersLint.ToString());
        Assert.Empty(infra.ParametersLint.Diagnostics);
        var parameters = JsonNode.Parse(JsonNode.Parse(infra.Parameters.StandardOutput)!["parametersJson"]!.GetValue<string>())!["parameters"]!;
        Assert.Equal("Consumption-GPU-NC8as-T4", parameters["gpuWorkloadProfileType"]!["value"]!.GetValue<string>());
        Assert.False(parameters["enableUploadEvents"]!["value"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Parameters_file_refuses_an_unknown_gpu_profile()
    {
        var result = await Bicep.RunAsync(CompiledInfra.AzdEnvironment(("AGING_GPU_PROFILE", "Dedicated-D4")), "build-params", "main.bicepparam", "--stdout");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("BCP033", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public void Storage_refuses_shared_keys_and_anonymous_reads()
    {
        var account = Assert.Single(ArmTemplate.Resources(infra.Template, "Microsoft.Storage/storageAccounts"), r => r["existing"] is null);
        var properties = account["properties"]!;
        Assert.False(properties["allowSharedKeyAccess"]!.GetValue<bool>());
        Assert.False(properties["allowBlobPublicAccess"]!.GetValue<bool>());
        Assert.Equal("TLS1_2", properties["minimumTlsVersion"]!.GetValue<string>());
    }

    [Fact]
    public void Storage_creates_exactly_the_containers_and_queues_of_the_contracts()
    {
        var variables = FindVariables(infra.Template, "dataContainers");
        Assert.Equal(
            new[] { BlobNames.UploadsContainer, BlobNames.AgedContainer, BlobNames.JobsContainer, BlobNames.ModelsContainer }.Order(),
            variables["dataContainers"]!.AsArray().Select(c => c!.GetValue<string>()).Order());
        Assert.Equal(
            new[] { BlobNames.JobsQueue, BlobNames.PoisonQueue }.Order(),
            variables["queues"]!.AsArray().Select(c => c!.GetValue<string>()).Order());
    }

    private static JsonObject FindVariables(JsonNode node, string name) =>
        FindIn(node, name) ?? throw new InvalidOperationException($"No template declares a variable {name}.");

    private static JsonObject? FindIn(JsonNode node, string name) => node switch
    {
        JsonObject obj => obj["variables"] is JsonObject v && v.ContainsKey(name)
            ? v
            : obj.Select(p => p.Value is null ? null : FindIn(p.Value, name)).FirstOrDefault(f => f is not null),
        JsonArray array => array.Select(c => c is null ? null : FindIn(c, name)).FirstOrDefault(f => f is not null),
        _ => null,
    };

    [Fact]
    public void No_app_setting_or_environment_variable_carries_an_account_key()
    {
        var text = infra.Template.ToJsonString();
        Assert.DoesNotContain("AccountKey", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("listKeys(resourceId('Microsoft.Storage", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Microsoft.Storage/storageAccounts', parameters('storageAccountName')), '2025-01-01').keys", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Function_app_runs_the_custom_handler_on_flex_consumption_with_identity_based_host_storage()
    {
        var plan = Assert.Single(ArmTemplate.Resources(infra.Template, "Microsoft.Web/serverfarms"));
        Assert.Equal("FlexConsumption", plan["sku"]!["tier"]!.GetValue<string>());
        var site = Assert.Single(ArmTemplate.Resources(infra.Template, "Microsoft.Web/sites"), s => s["properties"]?["functionAppConfig"] is not null);
        Assert.Equal("custom", site["properties"]!["functionAppConfig"]!["runtime"]!["name"]!.GetValue<string>());
        Assert.Equal("UserAssignedIdentity", site["properties"]!["functionAppConfig"]!["deployment"]!["storage"]!["authentication"]!["type"]!.GetValue<string>());
        var text = infra.Template.ToJsonString();
        Assert.Contains("AzureWebJobsStorage__credential", text, StringComparison.Ordinal);
        Assert.Contains("AzureWebJobsStorage__blobServiceUri", text, StringComparison.Ordinal);
        Assert.Contains("AzureWebJobsStorage__queueServiceUri", text, StringComparison.Ordinal);
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Event_subscription_delivers_only_blob_created_in_uploads_to_the_event_grid_webhook_of_OnImageUploaded()
    {
        var subscription = Assert.Single(ArmTemplate.Resources(infra.Template, "Microsoft.EventGrid/systemTopics/eventSubscriptions"));
        var properties = subscription["properties"]!;
        Assert.Equal("[format('/blobServices/default/containers/{0}/', variables('uploadsContainer'))]", properties["filter"]!["subjectBeginsWith"]!.GetValue<string>());
        Assert.Equal(["Microsoft.Storage.BlobCreated"], properties["filter"]!["includedEventTypes"]!.AsArray().Select(e => e!.GetValue<string>()));
        var endpoint = properties["destination"]!["properties"]!["endpointUrl"]!.GetValue<string>();
        Assert.Equal("WebHook", properties["destination"]!["endpointType"]!.GetValue<string>());
        Assert.Equal(1, properties["destination"]!["properties"]!["maxEventsPerBatch"]!.GetValue<int>());
        Assert.Equal("EventGridSchema", properties["eventDeliverySchema"]!.GetValue<string>());
        Assert.Contains("/runtime/webhooks/EventGrid?functionName={", endpoint, StringComparison.Ordinal);
        Assert.Contains("parameters('functionName')", endpoint, StringComparison.Ordinal);
        Assert.Contains("systemKeys.eventgrid_extension", endpoint, StringComparison.Ordinal);
        Assert.DoesNotContain("blobs_extension", infra.Template.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("webhooks/blobs", infra.Template.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains("\"uploadsContainer\": \"uploads\"", infra.Template.ToJsonString(new() { WriteIndented = true }), StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(AgingPipeline.Testing.RepoPaths.Root, "functions", "OnImageUploaded")));
    }

    [Fact]
    public void Runner_scales_from_zero_on_the_job_queue_with_its_managed_identity_on_a_gpu_profile()
    {
        var environment = Assert.Single(ArmTemplate.Resources(infra.Template, "Microsoft.App/managedEnvironments"));
        var profiles = environment["properties"]!["workloadProfiles"]!.AsArray();
        Assert.Contains(profiles, p => p!["workloadProfileType"]!.GetValue<string>() == "[parameters('gpuWorkloadProfileType')]");

        var runner = Assert.Single(ArmTemplate.Resources(infra.Template, "Microsoft.App/containerApps"));
        var scale = runner["properties"]!["template"]!["scale"]!;
        Assert.Equal(0, scale["minReplicas"]!.GetValue<int>());
        var rule = Assert.Single(scale["rules"]!.AsArray())!["custom"]!;
        Assert.Equal("azure-queue", rule["type"]!.GetValue<string>());
        Assert.Equal("[parameters('identityId')]", rule["identity"]!.GetValue<string>());
        var metadata = rule["metadata"]!;
        Assert.Equal(BlobNames.JobsQueue, metadata["queueName"]!.GetValue<string>());
        Assert.NotNull(metadata["queueLength"]);
        Assert.NotNull(metadata["activationQueueLength"]);
        Assert.Null(rule["auth"]);
        Assert.Equal("[variables('gpuProfileName')]", runner["properties"]!["workloadProfileName"]!.GetValue<string>());
    }

    /// <summary>Issue 15, deployed auth: signed-in users only unless the deployment asks for an open form; the handler
    /// validates the tokens (Flex Consumption does not enforce App Service Authentication, so no authsettingsV2), the
    /// limits are on, and the runner has no way in at all.</summary>
    [Fact]
    public async Task The_api_serves_signed_in_users_unless_the_deployment_opens_it_and_the_runner_stays_private()
    {
        var parameters = JsonNode.Parse(JsonNode.Parse(infra.Parameters.StandardOutput)!["parametersJson"]!.GetValue<string>())!["parameters"]!;
        Assert.False(parameters["allowAnonymous"]!["value"]!.GetValue<bool>());
        var open = await Bicep.RunAsync(CompiledInfra.AzdEnvironment(("AGING_ALLOW_ANONYMOUS", "true"), ("AGING_AUTH_CLIENT_ID", "x")), "build-params", "main.bicepparam", "--stdout");
        Assert.True(open.ExitCode == 0, open.ToString());
        Assert.True(JsonNode.Parse(JsonNode.Parse(open.StandardOutput)!["parametersJson"]!.GetValue<string>())!["parameters"]!["allowAnonymous"]!["value"]!.GetValue<bool>());

        var text = infra.Build.StandardOutput;
        Assert.Contains("'Auth__Mode', if(parameters('allowAnonymous'), 'Anonymous', 'EntraId')", text, StringComparison.Ordinal);
        Assert.Contains("'Auth__TenantId', parameters('authTenantId')", text, StringComparison.Ordinal);
        Assert.Contains("'Auth__ClientId', parameters('authClientId')", text, StringComparison.Ordinal);
        Assert.Contains("'RateLimit__Enabled', 'true'", text, StringComparison.Ordinal);
        Assert.DoesNotContain(ArmTemplate.Resources(infra.Template, "Microsoft.Web/sites/config"),
            c => c["name"]?.ToString().Contains("authsettings", StringComparison.OrdinalIgnoreCase) == true);
        var runner = Assert.Single(ArmTemplate.Resources(infra.Template, "Microsoft.App/containerApps"));
        Assert.Null(runner["properties"]!["configuration"]!["ingress"]);
    }

    [Fact]
    public void Outputs_include_the_web_form_url_and_what_azd_needs()
    {
        var outputs = infra.Template["outputs"]!.AsObject();
        foreach (var name in new[] { "WEB_FORM_URL", "AZURE_CONTAINER_REGISTRY_ENDPOINT", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_FUNCTION_APP_NAME", "AZURE_RESOURCE_GROUP" })
        {
            Assert.True(outputs.ContainsKey(name), $"Output {name} is missing.");
        }
    }
}

/// <summary>Compiles infra/main.bicep and infra/main.bicepparam once for the class.</summary>
public sealed class CompiledInfra : IAsyncLifetime
{
    public BicepResult Build { get; private set; } = null!;

    public BicepResult Parameters { get; private set; } = null!;

    public BicepResult ParametersLint { get; private set; } = null!;

    public JsonNode Template { get; private set; } = null!;

    /// <summary>The variables azd exports before it compiles main.bicepparam.</summary>
    public static IReadOnlyDictionary<string, string> AzdEnvironment(params (string Name, string Value)[] extra)
    {
        var values = new Dictionary<string, string>
        {
            ["AZURE_ENV_NAME"] = "infra-tests",
            ["AZURE_LOCATION"] = "swedencentral",
            ["AZURE_PRINCIPAL_ID"] = "00000000-0000-0000-0000-000000000001",
        };
        foreach (var (name, value) in extra)
        {
            values[name] = value;
        }
        return values;
    }

    public async Task InitializeAsync()
    {
        Build = await Bicep.RunAsync(null, "build", "main.bicep", "--stdout");
        Parameters = await Bicep.RunAsync(AzdEnvironment(), "build-params", "main.bicepparam", "--stdout");
        ParametersLint = await Bicep.RunAsync(AzdEnvironment(), "lint", "main.bicepparam");
        Template = Build.ExitCode == 0 ? JsonNode.Parse(Build.StandardOutput)! : new JsonObject();
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
