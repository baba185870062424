/*
 * Lowers the priority of libuv's thread pool, where the store's work runs (DuckDB executes
 * every statement there). On two cores the receiving thread, the store and the senders
 * compete; when the store's batch work or a checkpoint takes the CPU for a few hundred
 * milliseconds, the socket buffer fills and datagrams are dropped. The spool exists so the
 * store may lag: giving it a higher nice value makes it yield to the receiving thread, and
 * it catches up afterwards. Raising one's own nice value needs no privileges.
 *
 * JavaScript API: setThreadPoolNice(nice, poolSize) → Promise<{ threads, error }>.
 * It queues poolSize tasks that each renice their own thread and wait until all have started,
 * so each lands on a different pool thread (at most 2 s, if a thread is busy elsewhere).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "addon.h"

typedef struct {
  int nice;
  unsigned expected;
  unsigned arrived;
  unsigned remaining;
  int error;
  pid_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t all_arrived;
  napi_deferred deferred;
} pool_request_t;

typedef struct {
  pool_request_t *request;
  napi_async_work work;
} pool_task_t;

static void renice_own_thread(napi_env env, void *data) {
  (void)env;
  pool_request_t *request = ((pool_task_t *)data)->request;
  pid_t thread = (pid_t)syscall(SYS_gettid);
  int error = setpriority(PRIO_PROCESS, (id_t)thread, request->nice) == 0 ? 0 : errno;
  pthread_mutex_lock(&request->lock);
  if (error) request->error = error;
  request->threads[request->arrived++] = thread;
  pthread_cond_broadcast(&request->all_arrived);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 2;
  while (request->arrived < request->expected)
    if (pthread_cond_timedwait(&request->all_arrived, &request->lock, &deadline) == ETIMEDOUT) break;
  pthread_mutex_unlock(&request->lock);
}

static unsigned distinct_threads(const pool_request_t *request) {
  unsigned distinct = 0;
  for (unsigned i = 0; i < request->arrived; i++) {
    int seen = 0;
    for (unsigned j = 0; j < i && !seen; j++) seen = request->threads[j] == request->threads[i];
    if (!seen) distinct++;
  }
  return distinct;
}

static void task_done(napi_env env, napi_status status, void *data) {
  (void)status;
  pool_task_t *task = data;
  pool_request_t *request = task->request;
  napi_delete_async_work(env, task->work);
  free(task);
  if (--request->remaining > 0) return;
  napi_value result, threads, error;
  napi_create_object(env, &result);
  napi_create_uint32(env, distinct_threads(request), &threads);
  if (request->error)
    napi_create_string_utf8(env, strerror(request->error), NAPI_AUTO_LENGTH, &error);
  else
    napi_get_null(env, &error);
  napi_set_named_property(env, result, "threads", threads);
  napi_set_named_property(env, result, "error", error);
  napi_resolve_deferred(env, request->deferred, result);
  pthread_mutex_destroy(&request->lock);
  pthread_cond_destroy(&request->all_arrived);
  free(request->threads);
  free(request);
}

napi_value set_thread_pool_nice(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t nice;
  uint32_t pool_size;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2 ||
      napi_get_value_int32(env, argv[0], &nice) != napi_ok || napi_get_value_uint32(env, argv[1], &pool_size) != napi_ok ||
      nice < 0 || nice > 19 || pool_size == 0 || pool_size > 1024) {
    napi_throw_type_error(env, NULL, "setThreadPoolNice(nice 0..19, poolSize 1..1024)");
    return NULL;
  }
  pool_request_t *request = calloc(1, sizeof *request);
  request->nice = nice;
  request->expected = pool_size;
  request->remaining = pool_size;
  request->threads = calloc(pool_size, sizeof *request->threads);
  pthread_mutex_init(&request->lock, NULL);
  pthread_cond_init(&request->all_arrived, NULL);
  napi_value promise, name;
  napi_create_promise(env, &request->deferred, &promise);
  napi_create_string_utf8(env, "THREADPOOLNICE", NAPI_AUTO_LENGTH, &name);
  for (uint32_t i = 0; i < pool_size; i++) {
    pool_task_t *task = calloc(1, sizeof *task);
    task->request = request;
    napi_create_async_work(env, NULL, name, renice_own_thread, task_done, task, &task->work);
    napi_queue_async_work(env, task->work);
  }
  return promise;
}
