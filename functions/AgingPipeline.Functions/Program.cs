using AgingPipeline.Functions;
using AgingPipeline.Functions.Apis;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddFunctionApp();

var app = builder.Build();
app.UseFunctionAppPipeline();
app.MapDefaultEndpoints();
app.MapTriggersApi();
app.MapUploadsApi();
app.MapJobsApi();
app.MapHealthApi();
app.MapWebFormApi();
app.Run();
