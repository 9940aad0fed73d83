/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of blksnap (events/blksnap/ in tracefs): attach and detach,
 * TAKE with its duration, every copy-on-write with its latency, the
 * difference storage running low or out, a snapshot device corrupted.
 * Devices are named by number (as the block layer's own events do), times
 * are in nanoseconds, sizes in sectors unless the field says bytes.  The
 * events are defined (CREATE_TRACE_POINTS) in trace.c; they are not part
 * of the module's interface and may change.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM blksnap

#if !defined(BLKSNAP_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define BLKSNAP_TRACE_H

#include <linux/tracepoint.h>
#include <linux/errno.h>
#include <linux/kdev_t.h>
#include <linux/ktime.h>
#include <linux/uuid.h>

TRACE_EVENT(blksnap_attach,
	    TP_PROTO(dev_t dev, sector_t sectors),
	    TP_ARGS(dev, sectors),
	    TP_STRUCT__entry(__field(dev_t, dev)
			     __field(sector_t, sectors)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->sectors = sectors;),
	    TP_printk("dev=%u:%u sectors=%llu", MAJOR(__entry->dev),
		      MINOR(__entry->dev), (unsigned long long)__entry->sectors)
);

TRACE_EVENT(blksnap_detach,
	    TP_PROTO(dev_t dev),
	    TP_ARGS(dev),
	    TP_STRUCT__entry(__field(dev_t, dev)),
	    TP_fast_assign(__entry->dev = dev;),
	    TP_printk("dev=%u:%u", MAJOR(__entry->dev), MINOR(__entry->dev))
);

/* @start_ns: ktime_get_ns() when TAKE began; the event computes the rest. */
TRACE_EVENT(blksnap_take,
	    TP_PROTO(const uuid_t *id, int devices, u64 start_ns, int ret),
	    TP_ARGS(id, devices, start_ns, ret),
	    TP_STRUCT__entry(__array(u8, id, UUID_SIZE)
			     __field(int, devices)
			     __field(u64, duration_ns)
			     __field(int, ret)),
	    TP_fast_assign(memcpy(__entry->id, id, UUID_SIZE);
			   __entry->devices = devices;
			   __entry->duration_ns = ktime_get_ns() - start_ns;
			   __entry->ret = ret;),
	    TP_printk("snapshot=%pUb devices=%d duration_ns=%llu ret=%d",
		      __entry->id, __entry->devices,
		      (unsigned long long)__entry->duration_ns, __entry->ret)
);

/*
 * A chunk copied: its old data read and its region allocated, the writer
 * free to go on.  @start_ns: ktime_get_ns() when the copy began.
 */
TRACE_EVENT(blksnap_cow,
	    TP_PROTO(dev_t dev, unsigned long chunk, unsigned int bytes,
		     u64 start_ns),
	    TP_ARGS(dev, chunk, bytes, start_ns),
	    TP_STRUCT__entry(__field(dev_t, dev)
			     __field(unsigned long, chunk)
			     __field(unsigned int, bytes)
			     __field(u64, latency_ns)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->chunk = chunk;
			   __entry->bytes = bytes;
			   __entry->latency_ns = ktime_get_ns() - start_ns;),
	    TP_printk("dev=%u:%u chunk=%lu bytes=%u latency_ns=%llu",
		      MAJOR(__entry->dev), MINOR(__entry->dev), __entry->chunk,
		      __entry->bytes, (unsigned long long)__entry->latency_ns)
);

/* Free space fell to diff_storage_minimum / 2: the event goes out. */
TRACE_EVENT(blksnap_storage_low,
	    TP_PROTO(sector_t capacity, sector_t filled),
	    TP_ARGS(capacity, filled),
	    TP_STRUCT__entry(__field(sector_t, capacity)
			     __field(sector_t, filled)),
	    TP_fast_assign(__entry->capacity = capacity;
			   __entry->filled = filled;),
	    TP_printk("total=%llu used=%llu",
		      (unsigned long long)__entry->capacity,
		      (unsigned long long)__entry->filled)
);

/* No range had room for a region of @wanted sectors (@ret -ENOSPC). */
TRACE_EVENT_CONDITION(blksnap_storage_overflow,
		      TP_PROTO(sector_t capacity, sector_t filled, sector_t wanted,
			       int ret),
		      TP_ARGS(capacity, filled, wanted, ret),
		      TP_CONDITION(ret == -ENOSPC),
		      TP_STRUCT__entry(__field(sector_t, capacity)
				       __field(sector_t, filled)
				       __field(sector_t, wanted)),
		      TP_fast_assign(__entry->capacity = capacity;
				     __entry->filled = filled;
				     __entry->wanted = wanted;),
		      TP_printk("total=%llu used=%llu wanted=%llu",
				(unsigned long long)__entry->capacity,
				(unsigned long long)__entry->filled,
				(unsigned long long)__entry->wanted)
);

TRACE_EVENT(blksnap_corrupted,
	    TP_PROTO(dev_t dev, int error),
	    TP_ARGS(dev, error),
	    TP_STRUCT__entry(__field(dev_t, dev)
			     __field(int, error)),
	    TP_fast_assign(__entry->dev = dev;
			   __entry->error = error;),
	    TP_printk("dev=%u:%u error=%d", MAJOR(__entry->dev),
		      MINOR(__entry->dev), __entry->error)
);

#endif /* BLKSNAP_TRACE_H */

/* out of tree: define_trace.h finds this file through -I$(src)/module */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
