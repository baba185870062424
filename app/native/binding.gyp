{
  "targets": [
    {
      "target_name": "collector_native",
      "sources": ["addon.c", "udp_batch.c", "udp_batch_core.c", "event_scan.c", "event_scan_core.c", "native_block.c", "native_block_core.c", "thread_nice.c", "malloc_tuning.c", "duckdb_allocator.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
