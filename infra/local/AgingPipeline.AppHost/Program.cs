using AgingPipeline.AppHost;

var builder = DistributedApplication.CreateBuilder(args);
builder.AddAgingStack(StackOptions.From(builder.Configuration));
builder.Build().Run();
