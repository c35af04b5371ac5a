using AgingPipeline.Runner;

// The content root is the application folder, so appsettings.json and models/ are found whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddServiceDefaults();
builder.AddAgingRunner();

var app = builder.Build();
app.MapDefaultEndpoints();
app.MapRunnerEndpoints();
app.Run();

/// <summary>The runner's entry point (public for <c>WebApplicationFactory</c> in integration tests).</summary>
public partial class Program
{
}
