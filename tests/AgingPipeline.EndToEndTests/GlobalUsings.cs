global using AgingPipeline.EndToEndTests.Infrastructure;
global using AgingPipeline.Testing;
