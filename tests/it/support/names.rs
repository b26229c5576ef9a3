//! NAMEs for the devices the tests script: marine (industry 4), self-configurable,
//! system instance 0, as every real node in the captures.

use n2k_dbus::network::{Name, NameFields};

/// The NAME of a device: unique number, manufacturer code, class/function, instance.
pub fn name(unique: u32, manufacturer: u16, (class, function): (u8, u8), instance: u8) -> Name {
    Name::from_fields(NameFields {
        unique_number: unique,
        manufacturer_code: manufacturer,
        device_instance: instance,
        device_function: function,
        device_class: class,
        system_instance: 0,
        industry_group: 4,
        arbitrary_address_capable: true,
    })
}
