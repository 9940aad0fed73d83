// SPDX-License-Identifier: GPL-2.0
/*
 * What stock kernels lack for the filter layer, emulated with ftrace: the
 * hook in the bio submission path, the BLKFILTER_* ioctls of block devices
 * and the notifications of device removal and media change.  The day the
 * kernel has a filter of its own, this file goes away; the layer
 * (blkfilter.c, blkfilter_bio.c) stays.
 *
 * Three kinds of ftrace hooks, registered by function name:
 *
 * - submit_bio_noacct (IPMODIFY): the callback looks the bio's block device
 *   up in the RCU hash of attached devices and, on a hit, makes the call
 *   continue in bf_submit_bio_noacct(), which offers the bio to the filter
 *   and then calls the real submit_bio_noacct() itself.  Calls coming from
 *   this module's text and bios from the module's bio_sets are never
 *   redirected, so the module's own I/O passes untouched.
 * - blkdev_ioctl / compat_blkdev_ioctl (IPMODIFY): only the three exact
 *   BLKFILTER_* command codes are redirected to bf_blkdev_ioctl(), which
 *   calls blkfilter_ioctl(); every other block ioctl runs as before.
 * - del_gendisk, drop_partition, bdev_del_partition, bdev_disk_changed,
 *   disk_force_media_change, inc_diskseq, set_capacity(_and_notify)
 *   (plain callbacks, whichever exist in the running kernel): report the
 *   event to blkfilter_device_event(), which marks the filters of a
 *   disappearing device for the gc worker or tells a filter its media
 *   changed.
 *
 * blkfilter_active (per CPU) counts the tasks inside the redirect targets
 * and every other path where module text calls submit_bio_noacct()
 * (bf_enter(), bf_leave()); module exit unregisters the hooks, then waits for it to
 * drain and for tasks between a redirect and bf_enter() or between
 * bf_leave() and their return (RCU tasks grace periods).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#include <linux/module.h>
#include <linux/ftrace.h>
#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/compat.h>
#include <linux/kallsyms.h>
#include <linux/delay.h>
#include <linux/blk-filter.h>
#include "blkfilter_priv.h"

/*
 * Redirect target of submit_bio_noacct() for bios of filtered devices.  The
 * calls of the real function come from module text, so the ftrace callback
 * lets them through.  It must stay a real call, not a tail jump:
 * bf_leave() follows it, and scripts/check-tailcall.sh checks the object.
 *
 * The callback hands over the entry it found, with a reference on its
 * @ref taken, in @bio->bi_next (NULL in a bio being submitted, and nothing
 * between the callback and here looks at it); NULL there means the
 * callback could not take the reference (the filter is frozen or being
 * detached) and blkfilter_filter_bio() looks the device up again.
 */
static noinline void bf_submit_bio_noacct(struct bio *bio)
{
	struct bf_entry *e = (struct bf_entry *)bio->bi_next;
	bool taken;

	bio->bi_next = NULL;
	bf_enter();
	taken = e ? blkfilter_offer_bio(e, bio) : blkfilter_filter_bio(bio);
	if (!taken)
		submit_bio_noacct(bio);
	bf_leave();
}

/*
 * The callback runs for every bio of the system, with preemption disabled
 * (ftrace's recursion guard; FTRACE_OPS_FL_RCU): the RCU read side of the
 * lookup.  Reads of a device whose filter only wants writes are not
 * redirected at all, nor are writes the filter lets pass without sleeping
 * (blkfilter_pass_write()).
 */
static void notrace bf_submit_bio_cb(unsigned long ip, unsigned long parent_ip,
				     struct ftrace_ops *op,
				     struct ftrace_regs *fregs)
{
	struct bf_entry *e;
	struct bio *bio;

	if (!atomic_read(&blkfilter_nr_attached))
		return;
	bio = (struct bio *)bf_fregs_arg(fregs, 0);
	if (!op_is_write(bio_op(bio)) && !atomic_read(&blkfilter_nr_reading))
		return;			/* no filter wants reads */
	if (within_module(parent_ip, THIS_MODULE))
		return;			/* our own (re)submission */
	if (bf_is_module_bio(bio))
		return;			/* our bio, via a kernel helper */
	preempt_disable_notrace();	/* RCU read side for the lookup */
	e = bf_lookup(bio->bi_bdev);
	if (e && (op_is_write(bio_op(bio)) || !e->ops->writes_only)) {
		if (READ_ONCE(e->dead) || !bf_ref_tryget_live(&e->ref))
			e = NULL;	/* the slow path sorts it out */
		else if (blkfilter_pass_write(e, bio))
			goto out;	/* passes, its completion hooked */
		bio->bi_next = (struct bio *)e;
		bf_fregs_set_ip(fregs, (unsigned long)bf_submit_bio_noacct);
	}
out:
	preempt_enable_notrace();
}

/* Redirect targets: same prototypes as blkdev_ioctl / compat_blkdev_ioctl. */
static noinline long bf_blkdev_ioctl(struct file *file, unsigned int cmd,
				     unsigned long arg)
{
	long ret;

	bf_enter();
	ret = blkfilter_ioctl(I_BDEV(file->f_mapping->host), cmd,
			      (void __user *)arg);
	bf_leave();
	return ret;
}

static noinline long bf_compat_blkdev_ioctl(struct file *file,
					    unsigned int cmd,
					    unsigned long arg)
{
	long ret;

	bf_enter();
	ret = blkfilter_ioctl(I_BDEV(file->f_mapping->host), cmd,
			      compat_ptr(arg));
	bf_leave();
	return ret;
}

static inline bool bf_is_blkfilter_cmd(unsigned long cmd)
{
	return (unsigned int)cmd == BLKFILTER_ATTACH ||
	       (unsigned int)cmd == BLKFILTER_DETACH ||
	       (unsigned int)cmd == BLKFILTER_CTL;
}

static void notrace bf_ioctl_cb(unsigned long ip, unsigned long parent_ip,
				struct ftrace_ops *op,
				struct ftrace_regs *fregs)
{
	if (bf_is_blkfilter_cmd(bf_fregs_arg(fregs, 1)))
		bf_fregs_set_ip(fregs, (unsigned long)bf_blkdev_ioctl);
}

static void notrace bf_compat_ioctl_cb(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	if (bf_is_blkfilter_cmd(bf_fregs_arg(fregs, 1)))
		bf_fregs_set_ip(fregs, (unsigned long)bf_compat_blkdev_ioctl);
}

/* ------------------------------------------------------ device events */

/* Is a set_capacity() call on @disk a change of the device under us? */
static bool notrace bf_capacity_is_media_change(struct gendisk *disk,
						sector_t sectors)
{
	/*
	 * device-mapper sets it at every table swap: another mapping.  Its
	 * disks are always named dm-<minor> (dm may be built in: no module
	 * name to compare).
	 */
	if (!strncmp(disk->disk_name, "dm-", 3))
		return true;
	return get_capacity(disk) != sectors;
}

/*
 * Hook callbacks for device events: they run in the caller's context and
 * cannot sleep; blkfilter_device_event() leaves what needs the layer's
 * lock to the gc worker.
 */
#define BF_EVENT_CB(fn, what)						\
static void notrace fn(unsigned long ip, unsigned long parent_ip,	\
		       struct ftrace_ops *op, struct ftrace_regs *fregs) \
{									\
	blkfilter_device_event(what,					\
			       (struct gendisk *)bf_fregs_arg(fregs, 0)); \
}

BF_EVENT_CB(bf_del_gendisk_cb, BLKFILTER_DISK_DELETED)
BF_EVENT_CB(bf_parts_changing_cb, BLKFILTER_PARTS_CHANGING)
BF_EVENT_CB(bf_media_change_cb, BLKFILTER_MEDIA_CHANGED)

/* set_capacity(disk, sectors): only a real change is a media change. */
static void notrace bf_set_capacity_cb(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	struct gendisk *disk;

	if (!atomic_read(&blkfilter_nr_attached))
		return;
	disk = (struct gendisk *)bf_fregs_arg(fregs, 0);
	if (bf_capacity_is_media_change(disk, bf_fregs_arg(fregs, 1)))
		blkfilter_device_event(BLKFILTER_MEDIA_CHANGED, disk);
}

/*
 * drop_partition(part) and delete_partition(part) take the partition, not
 * the disk: tell the worker to look at every device.
 */
static void notrace bf_drop_partition_cb(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *op,
					 struct ftrace_regs *fregs)
{
	if (atomic_read(&blkfilter_nr_attached))
		blkfilter_gc_kick();
}

/* ------------------------------------------------------------- hooks */

/* No SAVE_REGS where the kernel has DYNAMIC_FTRACE_WITH_ARGS (compat.h). */
#define BF_IPMODIFY (BLKSNAP_FTRACE_SAVE_REGS | FTRACE_OPS_FL_IPMODIFY | \
		     FTRACE_OPS_FL_PERMANENT | FTRACE_OPS_FL_RECURSION)
#define BF_NOTIFY (BLKSNAP_FTRACE_SAVE_REGS | FTRACE_OPS_FL_PERMANENT | \
		   FTRACE_OPS_FL_RECURSION)

/**
 * struct bf_hook - One ftrace hook of the layer.
 * @func: Name of the kernel function hooked.
 * @required: Loading fails when the hook cannot be registered.
 * @ops: The ftrace_ops; @ops.func is the callback.
 * @active: Registered.
 */
struct bf_hook {
	const char *func;
	bool required;
	struct ftrace_ops ops;
	bool active;
};

static struct bf_hook bf_hooks[] = {
	{ "submit_bio_noacct", true,
	  { .func = bf_submit_bio_cb, .flags = BF_IPMODIFY | FTRACE_OPS_FL_RCU } },
	{ "blkdev_ioctl", true,
	  { .func = bf_ioctl_cb, .flags = BF_IPMODIFY } },
	{ "compat_blkdev_ioctl", IS_ENABLED(CONFIG_COMPAT),
	  { .func = bf_compat_ioctl_cb, .flags = BF_IPMODIFY } },
	{ "del_gendisk", false,
	  { .func = bf_del_gendisk_cb, .flags = BF_NOTIFY } },
	{ "drop_partition", false,
	  { .func = bf_drop_partition_cb, .flags = BF_NOTIFY } },
	{ "delete_partition", false,
	  { .func = bf_drop_partition_cb, .flags = BF_NOTIFY } },
	{ "bdev_del_partition", false,
	  { .func = bf_parts_changing_cb, .flags = BF_NOTIFY } },
	{ "bdev_disk_changed", false,
	  { .func = bf_parts_changing_cb, .flags = BF_NOTIFY } },
	{ "disk_force_media_change", false,
	  { .func = bf_media_change_cb, .flags = BF_NOTIFY } },
	{ "inc_diskseq", false,
	  { .func = bf_media_change_cb, .flags = BF_NOTIFY } },
	{ "set_capacity", false,
	  { .func = bf_set_capacity_cb, .flags = BF_NOTIFY } },
	/* its call of set_capacity() may be inlined */
	{ "set_capacity_and_notify", false,
	  { .func = bf_set_capacity_cb, .flags = BF_NOTIFY } },
};

static int bf_hook_register(struct bf_hook *h)
{
	char name[KSYM_NAME_LEN];
	int ret;

	strscpy(name, h->func, sizeof(name));
	ret = ftrace_set_filter(&h->ops, name, strlen(name), 0);
	if (ret) {
		if (h->required)
			pr_err("cannot load: kernel function %s is not traceable (%d); blksnap needs CONFIG_DYNAMIC_FTRACE with %s in available_filter_functions\n",
			       h->func, ret, h->func);
		return ret;
	}
	ret = register_ftrace_function(&h->ops);
	if (ret) {
		if (h->required)
			pr_err("cannot load: hooking %s failed (%d)%s\n", h->func,
			       ret, ret == -EBUSY ?
			       ": another module or livepatch already modifies it" :
			       "");
		ftrace_free_filter(&h->ops);
		return ret;
	}
	h->active = true;
	return 0;
}

static void bf_hooks_unregister(void)
{
	int i;

	for (i = ARRAY_SIZE(bf_hooks) - 1; i >= 0; i--) {
		if (!bf_hooks[i].active)
			continue;
		unregister_ftrace_function(&bf_hooks[i].ops);
		ftrace_free_filter(&bf_hooks[i].ops);
		bf_hooks[i].active = false;
	}
}

static int bf_hooks_register(void)
{
	bool removal = false;
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(bf_hooks); i++) {
		ret = bf_hook_register(&bf_hooks[i]);
		if (ret && bf_hooks[i].required) {
			bf_hooks_unregister();
			return ret;
		}
		if (!ret && !(bf_hooks[i].ops.flags & FTRACE_OPS_FL_IPMODIFY))
			removal = true;
	}
	if (!removal)
		pr_warn("no device-removal hook available: filters of removed devices stay until detached\n");
	return 0;
}

/*
 * The layer's setup lives here, with the hooks: on a kernel with a filter
 * hook of its own this file goes, and the block layer sets the layer up.
 */

/* Unregister the hooks and wait until no task is inside the redirects. */
static void bf_hooks_drain(void)
{
	bf_hooks_unregister();
	/* A task may have been redirected and not reached bf_enter() yet. */
	synchronize_rcu_tasks();
	/*
	 * No task enters module text now (no hook, no filter attached), so
	 * the per-CPU counts only go down: a sum of 0 is final.
	 */
	while (bf_active_sum())
		msleep(20);
	/* ...or be between bf_leave() and its return. */
	synchronize_rcu_tasks();
}

/**
 * blkfilter_init() - Set up the filter layer and register its hooks.
 *
 * Context: module init; may sleep.
 * Return: 0, or a negative errno (the module then refuses to load; the
 * message names the hook that failed).
 */
int blkfilter_init(void)
{
	int ret;

	ret = blkfilter_bio_init();
	if (ret)
		return ret;
	blkfilter_wq = alloc_workqueue("blksnap-filter",
				       WQ_MEM_RECLAIM | BLKSNAP_WQ_PERCPU, 0);
	if (!blkfilter_wq) {
		ret = -ENOMEM;
		goto out_bio_exit;
	}
	ret = bf_hooks_register();
	if (ret)
		goto out_destroy_wq;
	return 0;

out_destroy_wq:
	destroy_workqueue(blkfilter_wq);
out_bio_exit:
	blkfilter_bio_exit();
	return ret;
}

/**
 * blkfilter_exit() - Unregister the hooks, wait until no task is inside the
 * module's redirect targets, and take the layer down.
 *
 * Runs only when no filter is attached (module references; unpinned
 * attachments were detached by blkfilter_unregister()).
 * Context: module exit; may sleep.
 */
void blkfilter_exit(void)
{
	bf_hooks_drain();
	blkfilter_gc_stop();
	/* the entries' call_rcu callbacks are module text */
	rcu_barrier();
	destroy_workqueue(blkfilter_wq);
	blkfilter_bio_exit();
}
