//! The image of the container that holds an awsvpc task's network namespace.
//!
//! Nothing can be pulled, so ecsctl makes this image itself: a root filesystem holding one
//! static x86-64 program (built here, byte by byte) that calls pause(2) forever, imported into
//! the engine as `ecsctl/pause:1`. It uses no CPU and about no memory, like Kubernetes' pause.

/// Load address of the program.
const BASE: u64 = 0x40_0000;
/// ELF header (64 bytes) + one program header (56 bytes).
const HEADERS: u64 = 64 + 56;

/// The program: `loop { pause() }`, as x86-64 machine code.
const CODE: [u8; 9] = [
    0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (pause)
    0x0f, 0x05, // syscall
    0xeb, 0xf7, // jmp back to mov (-9)
];

/// A static ELF executable for x86-64 Linux that pauses forever.
pub fn pause_elf() -> Vec<u8> {
    let size = HEADERS + CODE.len() as u64;
    let mut b = Vec::with_capacity(size as usize);
    // ELF header
    b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&2u16.to_le_bytes()); // e_type: executable
    b.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: x86-64
    b.extend_from_slice(&1u32.to_le_bytes()); // e_version
    b.extend_from_slice(&(BASE + HEADERS).to_le_bytes()); // e_entry
    b.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    b.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    b.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    b.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    b.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    // Program header: one loadable, readable and executable segment holding the whole file.
    b.extend_from_slice(&1u32.to_le_bytes()); // p_type: LOAD
    b.extend_from_slice(&5u32.to_le_bytes()); // p_flags: R + X
    b.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    b.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    b.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    b.extend_from_slice(&size.to_le_bytes()); // p_filesz
    b.extend_from_slice(&size.to_le_bytes()); // p_memsz
    b.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    b.extend_from_slice(&CODE);
    b
}

/// A tar archive (ustar) holding one executable file at `path`.
pub fn tar_with_file(path: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, s: &[u8]| h[at..at + s.len()].copy_from_slice(s);
    put(&mut h, 0, path.as_bytes()); // name
    put(&mut h, 100, b"0000755\0"); // mode
    put(&mut h, 108, b"0000000\0"); // uid
    put(&mut h, 116, b"0000000\0"); // gid
    put(&mut h, 124, format!("{:011o}\0", data.len()).as_bytes()); // size
    put(&mut h, 136, b"00000000000\0"); // mtime
    put(&mut h, 148, b"        "); // checksum, counted as spaces
    h[156] = b'0'; // regular file
    put(&mut h, 257, b"ustar\0"); // magic
    put(&mut h, 263, b"00"); // version
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]); // end of archive
    out
}

/// The root filesystem of the pause image, as a tar.
pub fn pause_rootfs() -> Vec<u8> {
    tar_with_file("pause", &pause_elf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_is_well_formed() {
        let e = pause_elf();
        assert_eq!(e.len(), 129);
        assert_eq!(&e[..4], b"\x7fELF");
        let entry = u64::from_le_bytes(e[24..32].try_into().unwrap());
        assert_eq!(entry, BASE + 120);
        assert_eq!(&e[120..], &CODE);
    }

    #[test]
    fn tar_has_a_valid_header_and_padding() {
        let t = pause_rootfs();
        assert_eq!(t.len() % 512, 0);
        assert_eq!(&t[257..262], b"ustar");
        let stored: u32 =
            u32::from_str_radix(std::str::from_utf8(&t[148..154]).unwrap(), 8).unwrap();
        let mut h = t[..512].to_vec();
        h[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, h.iter().map(|b| u32::from(*b)).sum::<u32>());
    }
}
