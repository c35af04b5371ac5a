using AgingPipeline.Storage;

namespace AgingPipeline.EventPump;

/// <summary>Entry point of the local event pump.</summary>
public static class Program
{
    /// <summary>Runs the pump (uploads → OnImageUploaded, aging-jobs-poison → OnPoisonJob) until Ctrl-C.</summary>
    public static async Task Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.AddServiceDefaults();
        builder.Services.AddOptions<EventPumpOptions>().BindConfiguration(EventPumpOptions.SectionName)
            .Validate(o => o.Validate().Count == 0, "Invalid EventPump options; see EventPumpOptions.Validate.").ValidateOnStart();
        builder.Services.AddPipelineStorage();
        builder.Services.AddHttpClient<UploadEventPump>((sp, http) => http.Timeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddHostedService<EventPumpWorker>();
        builder.Services.AddOptions<PoisonPumpOptions>().BindConfiguration(PoisonPumpOptions.SectionName)
            .Validate(o => o.Validate().Count == 0, "Invalid PoisonPump options; see PoisonPumpOptions.Validate.").ValidateOnStart();
        builder.Services.AddHttpClient<PoisonQueuePump>((sp, http) => http.Timeout = Timeout.InfiniteTimeSpan);
        builder.Services.AddHostedService<PoisonPumpWorker>();
        await builder.Build().RunAsync().ConfigureAwait(false);
    }
}
