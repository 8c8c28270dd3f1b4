/*
 * gpiofs: a FUSE file system that behaves like the kernel's sysfs GPIO class (/sys/class/gpio), so the
 * unmodified onoff library (and its epoll addon) can be tested without GPIO hardware.
 *
 * Why FUSE and not files on a tmpfs: onoff's watch() waits for edge interrupts with epoll(EPOLLPRI) on the
 * open `value` file; a regular file refuses that. Here a poll handler answers POLLPRI|POLLERR while an edge
 * is unread, exactly as kernfs does, and fuse_notify_poll() wakes the waiter when an input changes.
 *
 *   gpiofs MOUNTPOINT --chips=BASE:NGPIO:LABEL[,BASE:NGPIO:LABEL...] [FUSE options]
 *
 * Files (as the kernel's):  export, unexport, gpiochipB/{base,label,ngpio},
 *                           gpioN/{value,direction,edge,active_low}
 * Side file for tests:      sim  write "N LEVEL" to set input line N's physical level (0/1), which raises
 *                           the configured edge; read it for "N direction physical-level" of every
 *                           exported line, one per line (what a meter on the pin would show).
 *
 * Semantics kept from drivers/gpio/gpiolib-sysfs.c: export of a line outside every chip is EINVAL, of an
 * exported line EBUSY; value is logical (physical XOR active_low) and writable only on outputs (EPERM);
 * direction takes in/out/low/high; edge takes none/rising/falling/both and refers to the logical value;
 * every file is read at offset 0 with direct I/O so each read reaches this daemon. Single-threaded (-s).
 */
#define FUSE_USE_VERSION 31
#include <errno.h>
#include <fuse.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHIPS 8
#define MAX_LINES 64

struct chip {
  int base, ngpio;
  char label[64];
};

enum edge { EDGE_NONE, EDGE_RISING, EDGE_FALLING, EDGE_BOTH };
static const char *edge_names[] = {"none", "rising", "falling", "both"};

struct line {
  int used, num, out, physical, active_low;
  enum edge edge;
  unsigned events; /* edge events so far; an open file has seen those up to its own count */
  struct fuse_pollhandle *ph;
};

struct open_file {
  int num;
  unsigned seen;
};

static struct chip chips[MAX_CHIPS];
static int nchips;
static struct line lines[MAX_LINES];
/* Physical level of lines not exported (inputs idle high: pull-ups), remembered across export. */
static int idle_level[MAX_LINES];
static int idle_num[MAX_LINES];
static int nidle;

static struct line *find_line(int num) {
  for (int i = 0; i < MAX_LINES; i++)
    if (lines[i].used && lines[i].num == num) return &lines[i];
  return NULL;
}

static int line_in_chip(int num) {
  for (int i = 0; i < nchips; i++)
    if (num >= chips[i].base && num < chips[i].base + chips[i].ngpio) return 1;
  return 0;
}

static int *idle_slot(int num) {
  for (int i = 0; i < nidle; i++)
    if (idle_num[i] == num) return &idle_level[i];
  if (nidle == MAX_LINES) return NULL;
  idle_num[nidle] = num;
  idle_level[nidle] = 1;
  return &idle_level[nidle++];
}

static int logical(const struct line *l) { return l->physical ^ l->active_low; }

/* Parse "gpio123" style names; -1 when name is not prefix + decimal number. */
static int parse_num(const char *name, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(name, prefix, n) != 0 || name[n] == '\0') return -1;
  char *end;
  long v = strtol(name + n, &end, 10);
  if (*end != '\0' || v < 0 || v > 100000) return -1;
  return (int)v;
}

static struct chip *find_chip(int base) {
  for (int i = 0; i < nchips; i++)
    if (chips[i].base == base) return &chips[i];
  return NULL;
}

/* Split "/a/b" into dir "a" and file "b" (file empty for "/a"). */
static void split(const char *path, char *dir, char *file) {
  const char *p = path + 1;
  const char *slash = strchr(p, '/');
  if (!slash) {
    snprintf(dir, 64, "%s", p);
    file[0] = '\0';
  } else {
    snprintf(dir, 64, "%.*s", (int)(slash - p), p);
    snprintf(file, 64, "%s", slash + 1);
  }
}

static const char *line_files[] = {"value", "direction", "edge", "active_low"};
static const char *chip_files[] = {"base", "label", "ngpio"};

static int is_one_of(const char *s, const char **list, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, list[i]) == 0) return 1;
  return 0;
}

static int gf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
  memset(st, 0, sizeof *st);
  st->st_nlink = 1;
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  char dir[64], file[64];
  split(path, dir, file);
  if (file[0] == '\0') {
    if (strcmp(dir, "export") == 0 || strcmp(dir, "unexport") == 0) {
      st->st_mode = S_IFREG | 0200;
      st->st_size = 4096;
      return 0;
    }
    if (strcmp(dir, "sim") == 0) {
      st->st_mode = S_IFREG | 0600;
      st->st_size = 4096;
      return 0;
    }
    int n = parse_num(dir, "gpiochip");
    if (n >= 0 && find_chip(n)) {
      st->st_mode = S_IFDIR | 0755;
      return 0;
    }
    n = parse_num(dir, "gpio");
    if (n >= 0 && find_line(n)) {
      st->st_mode = S_IFDIR | 0755;
      return 0;
    }
    return -ENOENT;
  }
  int n = parse_num(dir, "gpiochip");
  if (n >= 0 && find_chip(n) && is_one_of(file, chip_files, 3)) {
    st->st_mode = S_IFREG | 0444;
    st->st_size = 4096;
    return 0;
  }
  n = parse_num(dir, "gpio");
  if (n >= 0 && find_line(n) && is_one_of(file, line_files, 4)) {
    st->st_mode = S_IFREG | 0644;
    st->st_size = 4096;
    return 0;
  }
  return -ENOENT;
}

static int gf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                      enum fuse_readdir_flags flags) {
  (void)off, (void)fi, (void)flags;
  char name[80];
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  if (strcmp(path, "/") == 0) {
    fill(buf, "export", NULL, 0, 0);
    fill(buf, "unexport", NULL, 0, 0);
    fill(buf, "sim", NULL, 0, 0);
    for (int i = 0; i < nchips; i++) {
      snprintf(name, sizeof name, "gpiochip%d", chips[i].base);
      fill(buf, name, NULL, 0, 0);
    }
    for (int i = 0; i < MAX_LINES; i++)
      if (lines[i].used) {
        snprintf(name, sizeof name, "gpio%d", lines[i].num);
        fill(buf, name, NULL, 0, 0);
      }
    return 0;
  }
  char dir[64], file[64];
  split(path, dir, file);
  if (file[0] != '\0') return -ENOTDIR;
  int n = parse_num(dir, "gpiochip");
  if (n >= 0 && find_chip(n)) {
    for (int i = 0; i < 3; i++) fill(buf, chip_files[i], NULL, 0, 0);
    return 0;
  }
  n = parse_num(dir, "gpio");
  if (n >= 0 && find_line(n)) {
    for (int i = 0; i < 4; i++) fill(buf, line_files[i], NULL, 0, 0);
    return 0;
  }
  return -ENOENT;
}

static int gf_open(const char *path, struct fuse_file_info *fi) {
  struct stat st;
  int r = gf_getattr(path, &st, NULL);
  if (r) return r;
  if (S_ISDIR(st.st_mode)) return -EISDIR;
  fi->direct_io = 1;
  fi->keep_cache = 0;
  struct open_file *of = calloc(1, sizeof *of);
  if (!of) return -ENOMEM;
  of->num = -1;
  char dir[64], file[64];
  split(path, dir, file);
  int n = parse_num(dir, "gpio");
  if (n >= 0 && strcmp(file, "value") == 0) {
    struct line *l = find_line(n);
    of->num = n;
    of->seen = l->events; /* like kernfs: a fresh open has no pending event */
  }
  fi->fh = (uint64_t)(uintptr_t)of;
  return 0;
}

static int gf_release(const char *path, struct fuse_file_info *fi) {
  (void)path;
  free((void *)(uintptr_t)fi->fh);
  return 0;
}

static int reply(char *buf, size_t size, off_t off, const char *text) {
  size_t len = strlen(text);
  if ((size_t)off >= len) return 0;
  if (len - off < size) size = len - off;
  memcpy(buf, text + off, size);
  return (int)size;
}

static int gf_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  char dir[64], file[64], text[4096];
  split(path, dir, file);
  text[0] = '\0';
  if (file[0] == '\0' && strcmp(dir, "sim") == 0) {
    size_t used = 0;
    for (int i = 0; i < MAX_LINES; i++)
      if (lines[i].used && used < sizeof text - 64)
        used += snprintf(text + used, sizeof text - used, "%d %s %d\n", lines[i].num,
                         lines[i].out ? "out" : "in", lines[i].physical);
    return reply(buf, size, off, text);
  }
  if (file[0] == '\0') return -EIO; /* export/unexport are write-only */
  int n = parse_num(dir, "gpiochip");
  struct chip *c = n >= 0 ? find_chip(n) : NULL;
  if (c) {
    if (strcmp(file, "base") == 0) snprintf(text, sizeof text, "%d\n", c->base);
    else if (strcmp(file, "label") == 0) snprintf(text, sizeof text, "%s\n", c->label);
    else snprintf(text, sizeof text, "%d\n", c->ngpio);
    return reply(buf, size, off, text);
  }
  n = parse_num(dir, "gpio");
  struct line *l = n >= 0 ? find_line(n) : NULL;
  if (!l) return -ENOENT;
  if (strcmp(file, "value") == 0) {
    struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;
    if (of) of->seen = l->events; /* reading clears the pending edge, as on sysfs */
    snprintf(text, sizeof text, "%d\n", logical(l));
  } else if (strcmp(file, "direction") == 0) {
    snprintf(text, sizeof text, "%s\n", l->out ? "out" : "in");
  } else if (strcmp(file, "edge") == 0) {
    snprintf(text, sizeof text, "%s\n", edge_names[l->edge]);
  } else {
    snprintf(text, sizeof text, "%d\n", l->active_low);
  }
  return reply(buf, size, off, text);
}

/* A logical level change on an input: count an edge if the configured edge wants it and wake pollers. */
static void level_changed(struct line *l, int before) {
  int now = logical(l);
  if (now == before || l->out) return;
  int wanted = l->edge == EDGE_BOTH || (l->edge == EDGE_RISING && now) || (l->edge == EDGE_FALLING && !now);
  if (!wanted) return;
  l->events++;
  if (l->ph) {
    fuse_notify_poll(l->ph);
    fuse_pollhandle_destroy(l->ph);
    l->ph = NULL;
  }
}

static int parse_int(const char *text, int *out) {
  char *end;
  long v = strtol(text, &end, 10);
  while (*end == '\n' || *end == ' ') end++;
  if (end == text || *end != '\0') return -1;
  *out = (int)v;
  return 0;
}

static int gf_write(const char *path, const char *data, size_t size, off_t off, struct fuse_file_info *fi) {
  (void)off, (void)fi;
  char text[256], dir[64], file[64];
  if (size >= sizeof text) return -EINVAL;
  memcpy(text, data, size);
  text[size] = '\0';
  split(path, dir, file);
  if (file[0] == '\0') {
    if (strcmp(dir, "sim") == 0) {
      int num, level;
      if (sscanf(text, "%d %d", &num, &level) != 2 || (level != 0 && level != 1)) return -EINVAL;
      struct line *l = find_line(num);
      if (!l) {
        if (!line_in_chip(num)) return -EINVAL;
        int *slot = idle_slot(num);
        if (!slot) return -ENOSPC;
        *slot = level;
        return (int)size;
      }
      if (l->out) return -EPERM; /* the pin is driven by the box */
      int before = logical(l);
      l->physical = level;
      level_changed(l, before);
      return (int)size;
    }
    int num;
    if (parse_int(text, &num)) return -EINVAL;
    if (strcmp(dir, "export") == 0) {
      if (!line_in_chip(num)) return -EINVAL;
      if (find_line(num)) return -EBUSY;
      for (int i = 0; i < MAX_LINES; i++)
        if (!lines[i].used) {
          int *slot = idle_slot(num);
          lines[i] = (struct line){.used = 1, .num = num, .physical = slot ? *slot : 1};
          return (int)size;
        }
      return -ENOSPC;
    }
    if (strcmp(dir, "unexport") == 0) {
      struct line *l = find_line(num);
      if (!l) return -EINVAL;
      int *slot = idle_slot(num);
      if (slot && !l->out) *slot = l->physical;
      if (l->ph) fuse_pollhandle_destroy(l->ph);
      memset(l, 0, sizeof *l);
      return (int)size;
    }
    return -EIO;
  }
  int n = parse_num(dir, "gpio");
  struct line *l = n >= 0 ? find_line(n) : NULL;
  if (!l) return parse_num(dir, "gpiochip") >= 0 ? -EIO : -ENOENT;
  size_t len = strcspn(text, "\n");
  text[len] = '\0';
  if (strcmp(file, "value") == 0) {
    int v;
    if (!l->out) return -EPERM;
    if (parse_int(text, &v)) return -EINVAL;
    l->physical = (v != 0) ^ l->active_low;
  } else if (strcmp(file, "direction") == 0) {
    if (strcmp(text, "in") == 0) l->out = 0;
    else if (strcmp(text, "out") == 0 || strcmp(text, "low") == 0 || strcmp(text, "high") == 0) {
      if (l->edge != EDGE_NONE) return -EIO; /* the kernel refuses an output with an interrupt */
      l->out = 1;
      /* low/high are physical levels, whatever active_low says (gpiod_direction_output_raw). */
      if (strcmp(text, "low") == 0) l->physical = 0;
      else if (strcmp(text, "high") == 0) l->physical = 1;
      else l->physical = 0; /* "out" is "low": raw 0 (direction_store in gpiolib-sysfs.c) */
    } else return -EINVAL;
  } else if (strcmp(file, "edge") == 0) {
    int e = -1;
    for (int i = 0; i < 4; i++)
      if (strcmp(text, edge_names[i]) == 0) e = i;
    if (e < 0) return -EINVAL;
    if (l->out && e != EDGE_NONE) return -EIO;
    l->edge = (enum edge)e;
  } else if (strcmp(file, "active_low") == 0) {
    int v;
    if (parse_int(text, &v)) return -EINVAL;
    l->active_low = v != 0;
  } else return -EACCES;
  return (int)size;
}

static int gf_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
  (void)path, (void)size, (void)fi;
  return 0; /* O_TRUNC on open for writing (writeFileSync) is harmless on sysfs */
}

static int gf_poll(const char *path, struct fuse_file_info *fi, struct fuse_pollhandle *ph, unsigned *reventsp) {
  (void)path;
  struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;
  unsigned revents = POLLIN | POLLRDNORM;
  struct line *l = of && of->num >= 0 ? find_line(of->num) : NULL;
  if (l) {
    if (of->seen != l->events) revents |= POLLPRI | POLLERR;
    if (ph) {
      if (l->ph) fuse_pollhandle_destroy(l->ph);
      l->ph = ph;
      ph = NULL;
    }
  }
  if (ph) fuse_pollhandle_destroy(ph);
  *reventsp = revents;
  return 0;
}

static void *gf_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
  (void)conn;
  /* No caching anywhere: export must show gpioN at once, and every read must see the current level. */
  cfg->entry_timeout = 0;
  cfg->attr_timeout = 0;
  cfg->negative_timeout = 0;
  cfg->direct_io = 1;
  return NULL;
}

static const struct fuse_operations ops = {
    .init = gf_init,
    .getattr = gf_getattr,
    .readdir = gf_readdir,
    .open = gf_open,
    .release = gf_release,
    .read = gf_read,
    .write = gf_write,
    .truncate = gf_truncate,
    .poll = gf_poll,
};

static struct options {
  const char *chips;
} options;

static const struct fuse_opt option_spec[] = {{"--chips=%s", offsetof(struct options, chips), 1},
                                              FUSE_OPT_END};

static int parse_chips(const char *spec) {
  char *copy = strdup(spec), *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (nchips == MAX_CHIPS) return -1;
    struct chip *c = &chips[nchips];
    if (sscanf(tok, "%d:%d:%63s", &c->base, &c->ngpio, c->label) != 3 || c->base < 0 || c->ngpio <= 0)
      return -1;
    nchips++;
  }
  free(copy);
  return nchips > 0 ? 0 : -1;
}

int main(int argc, char *argv[]) {
  struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
  if (fuse_opt_parse(&args, &options, option_spec, NULL) == -1) return 1;
  if (!options.chips || parse_chips(options.chips)) {
    fprintf(stderr, "gpiofs: --chips=BASE:NGPIO:LABEL[,...] is required\n");
    return 2;
  }
  int ret = fuse_main(args.argc, args.argv, &ops, NULL);
  fuse_opt_free_args(&args);
  return ret;
}
