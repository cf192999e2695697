/* Function attributes used across fwgate, in one place (sslsplit attrib.h).
 * Nothing here changes behaviour; it lets the compiler check callers. */
#ifndef FWGATE_ATTRIB_H
#define FWGATE_ATTRIB_H

#define FW_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define FW_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define FW_WUR __attribute__((warn_unused_result))
#define FW_MALLOC __attribute__((malloc))
#define FW_UNUSED __attribute__((unused))

#define FW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
